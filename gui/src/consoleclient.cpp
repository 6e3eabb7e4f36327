#include "consoleclient.h"

namespace Warden::Console {

namespace {

void registerTypes()
{
    qRegisterMetaType<ClusterSnapshot>();
    qRegisterMetaType<RunHistory>();
    qRegisterMetaType<ActionResult>();
    qRegisterMetaType<RunDetails>();
    qRegisterMetaType<ConnectionState>();
    qRegisterMetaType<StoredLogLine>();
    qRegisterMetaType<QList<StoredLogLine>>();
}

} // namespace

ConsoleClient::ConsoleClient(Connector connector, QObject *parent)
    : QObject(parent)
    , m_thread(new QThread(this))
    , m_worker(new QueryWorker(std::move(connector)))
{
    registerTypes();
    m_thread->setObjectName(QStringLiteral("warden-console-query"));
    m_worker->moveToThread(m_thread);
    connect(m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    connect(m_worker, &QueryWorker::connectionStateChanged, this,
            [this](ConnectionState state, const QString &description, const QString &error,
                   int retryInMs) {
                m_state = state;
                m_description = description;
                Q_EMIT connectionStateChanged(state, description, error, retryInMs);
            });
    connect(m_worker, &QueryWorker::snapshotReady, this, &ConsoleClient::snapshotReady);
    connect(m_worker, &QueryWorker::logLinesReady, this, &ConsoleClient::logLinesReady);
    connect(m_worker, &QueryWorker::historyReady, this, &ConsoleClient::historyReady);
    connect(m_worker, &QueryWorker::runDetailsReady, this, &ConsoleClient::runDetailsReady);
    connect(m_worker, &QueryWorker::actionFinished, this, &ConsoleClient::actionFinished);
    m_thread->start();
}

ConsoleClient::~ConsoleClient()
{
    // The worker drops the store in its own thread: the connections belong to it.
    post([worker = m_worker] { worker->disconnectFromStore(); });
    m_thread->quit();
    m_thread->wait();
}

template<typename F> void ConsoleClient::post(F &&function)
{
    QMetaObject::invokeMethod(m_worker, std::forward<F>(function), Qt::QueuedConnection);
}

void ConsoleClient::setConnector(Connector connector)
{
    post(
        [worker = m_worker, connector = std::move(connector)] { worker->setConnector(connector); });
}

void ConsoleClient::connectTo(const QString &url, const QString &password)
{
    m_url = url;
    post([worker = m_worker, url, password] { worker->connectTo(url, password); });
}

void ConsoleClient::disconnectFromStore()
{
    m_url.clear();
    post([worker = m_worker] { worker->disconnectFromStore(); });
}

void ConsoleClient::refreshNow()
{
    post([worker = m_worker] { worker->refreshNow(); });
}

void ConsoleClient::requestFullTables()
{
    post([worker = m_worker] { worker->requestFullTables(); });
}

void ConsoleClient::setLogFilter(const LogQuery &filter)
{
    post([worker = m_worker, filter] { worker->setLogFilter(filter); });
}

void ConsoleClient::setSelectedWorker(const QString &name)
{
    post([worker = m_worker, name] { worker->setSelectedWorker(name); });
}

void ConsoleClient::setPollInterval(int milliseconds)
{
    post([worker = m_worker, milliseconds] { worker->setPollInterval(milliseconds); });
}

void ConsoleClient::setBackOff(int first, int maximum)
{
    post([worker = m_worker, first, maximum] { worker->setBackOff(first, maximum); });
}

void ConsoleClient::enableWorker(const QString &name, const QString &reason)
{
    post([worker = m_worker, name, reason] { worker->enableWorker(name, reason); });
}

void ConsoleClient::disableWorker(const QString &name, const QString &reason,
                                  const QDateTime &until)
{
    post([worker = m_worker, name, reason, until] { worker->disableWorker(name, reason, until); });
}

void ConsoleClient::requestRunDetails(const QString &runId)
{
    post([worker = m_worker, runId] { worker->requestRunDetails(runId); });
}

void ConsoleClient::triggerWorker(const QString &name)
{
    post([worker = m_worker, name] { worker->triggerWorker(name); });
}

void ConsoleClient::releaseLock(const QString &lock, const QString &reason)
{
    post([worker = m_worker, lock, reason] { worker->releaseLock(lock, reason); });
}

} // namespace Warden::Console
