#pragma once

#include "connection_p.h"

#include <QtCore/QObject>
#include <QtCore/QStringList>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtSql/QSqlDriver>

#include <functional>
#include <memory>

namespace Warden {

/*!
    \internal
    LISTENs on PostgreSQL channels from a thread of its own (QSqlDriver delivers
    notifications through the event loop of the connection's thread). It checks its
    connection every second and, after re-connecting, calls onReconnected so that its owner can
    catch up on what it may have missed.
*/
class NotificationListener final : public QObject
{
    Q_OBJECT
public:
    using Callback = std::function<void(const QString &channel, const QString &payload)>;

    NotificationListener(std::shared_ptr<const SqlConfig> config, QStringList channels,
                         Callback onNotification, std::function<void()> onReconnected);
    ~NotificationListener() override;

    //! Starts the listener thread; returns at once.
    void start(const QString &threadName);
    //! Stops the thread and closes its connection; returns when done.
    void stop();

private:
    void begin();
    void end();
    void check();
    void subscribe();
    void onNotification(const QString &name, QSqlDriver::NotificationSource source,
                        const QVariant &payload);

    std::shared_ptr<const SqlConfig> m_config;
    QStringList m_channels;
    Callback m_onNotification;
    std::function<void()> m_onReconnected;
    QThread m_thread;
    QTimer *m_timer = nullptr;
    bool m_subscribed = false;
    bool m_everSubscribed = false;
};

} // namespace Warden
