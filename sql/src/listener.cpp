#include "listener_p.h"

namespace Warden {

NotificationListener::NotificationListener(std::shared_ptr<const SqlConfig> config,
                                           QStringList channels, Callback onNotification,
                                           std::function<void()> onReconnected)
    : m_config(std::move(config))
    , m_channels(std::move(channels))
    , m_onNotification(std::move(onNotification))
    , m_onReconnected(std::move(onReconnected))
{}

NotificationListener::~NotificationListener()
{
    stop();
}

void NotificationListener::start(const QString &threadName)
{
    m_thread.setObjectName(threadName);
    moveToThread(&m_thread);
    // Both run in the listener thread: started() first thing, finished() once its event loop
    // has quit. (Signals rather than posted functors: the hand-over is then visible to
    // ThreadSanitizer, which cannot see inside an uninstrumented QtCore.)
    connect(&m_thread, &QThread::started, this, &NotificationListener::begin, Qt::DirectConnection);
    connect(&m_thread, &QThread::finished, this, &NotificationListener::end, Qt::DirectConnection);
    m_thread.start();
}

void NotificationListener::begin()
{
    m_timer = new QTimer(this);
    m_timer->setInterval(1000);
    connect(m_timer, &QTimer::timeout, this, &NotificationListener::check);
    m_timer->start();
    subscribe();
}

void NotificationListener::end()
{
    delete m_timer;
    m_timer = nullptr;
    if (m_subscribed) {
        QString error;
        if (SqlSession *session = SqlSession::current(*m_config, &error)) {
            QSqlDriver *driver = session->database().driver();
            disconnect(driver, nullptr, this, nullptr);
            for (const QString &channel : std::as_const(m_channels))
                driver->unsubscribeFromNotification(channel);
        }
    }
    m_subscribed = false;
    // Close the connection here: its socket notifier belongs to this thread.
    SqlSession::drop(*m_config);
}

void NotificationListener::stop()
{
    if (!m_thread.isRunning())
        return;
    m_thread.quit();
    m_thread.wait();
}

void NotificationListener::subscribe()
{
    QString error;
    SqlSession *session = SqlSession::current(*m_config, &error);
    if (!session)
        return;
    QSqlDriver *driver = session->database().driver();
    for (const QString &channel : std::as_const(m_channels)) {
        if (!driver->subscribeToNotification(channel)) {
            session->failed(driver->lastError());
            return;
        }
    }
    connect(driver, &QSqlDriver::notification, this, &NotificationListener::onNotification,
            Qt::UniqueConnection);
    m_subscribed = true;
    if (m_everSubscribed && m_onReconnected)
        m_onReconnected();
    m_everSubscribed = true;
}

void NotificationListener::check()
{
    if (!m_subscribed) {
        subscribe();
        return;
    }
    QString error;
    SqlSession *session = SqlSession::current(*m_config, &error);
    if (session) {
        QSqlQuery q(session->database());
        if (q.exec(QStringLiteral("SELECT 1")))
            return;
        const QSqlError e = q.lastError();
        q = QSqlQuery();
        session->failed(e);
        if (session->database().isOpen())
            return;
    }
    // The connection is gone (closed by failed() or never re-opened): subscribe again later.
    m_subscribed = false;
    SqlSession::drop(*m_config);
    subscribe();
}

void NotificationListener::onNotification(const QString &name, QSqlDriver::NotificationSource,
                                          const QVariant &payload)
{
    if (m_onNotification)
        m_onNotification(name, payload.toString());
}

} // namespace Warden
