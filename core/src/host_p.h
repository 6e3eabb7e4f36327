#pragma once

#include "leasekeeper_p.h"
#include "worker_p.h"

#include <warden/host.h>

#include <QtCore/QHash>
#include <QtCore/QMap>
#include <QtCore/QObject>
#include <QtCore/QSet>
#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <mutex>

namespace Warden {

class HostPrivate;

/*!
    \internal
    The host's control loop, in a thread of its own ("warden-control"): it publishes the node
    heartbeat and the workers' statuses, polls the store's worker settings (and listens to
    its notifications), and applies them. Store reads may block; here they block nobody.
*/
class HostControl final : public QObject
{
    Q_OBJECT
public:
    explicit HostControl(HostPrivate *host);

    void begin();               // control thread: first settings read, then start the workers
    void adopt(Worker *worker); // control thread: apply known settings, then start the worker
    void finish();              // control thread: node removed, store flushed
    void pollSettings();
    void publishStatuses();
    void publishHeartbeat();
    /*!
        The run ledger's upkeep: closes this node's runs left as running by its previous
        process (at start), and, under a lease so that one live node does it, the runs of
        nodes that are not alive (with every heartbeat).
    */
    void closeOwnLeftovers();
    void closeRunsOfDeadNodes();

private:
    void applySettings(Worker *worker, const WorkerSettings &settings, bool initial);

    HostPrivate *m_host;
    QTimer *m_settingsTimer = nullptr;
    QTimer *m_statusTimer = nullptr;
    QTimer *m_heartbeatTimer = nullptr;
    QHash<QString, WorkerSettings> m_settings; // last read
    QHash<QString, qint64> m_triggerSeen;      // per worker
    bool m_haveSettings = false;
};

class HostPrivate
{
public:
    explicit HostPrivate(Host *q);

    Host *q;
    QString nodeId;
    std::shared_ptr<LockManager> lockManager;
    std::shared_ptr<Store> store;
    std::chrono::milliseconds shutdownTimeout{30000};
    std::chrono::milliseconds leaseTtl{30000};
    std::chrono::milliseconds renewInterval{0}; // 0: a third of the ttl
    std::chrono::milliseconds standbyPoll{500};
    std::chrono::milliseconds heartbeatInterval{5000};
    std::chrono::milliseconds deadNodeThreshold{0};
    std::chrono::milliseconds deadNodeRetention{std::chrono::hours(24)};
    std::chrono::milliseconds settingsPoll{1000};
    std::chrono::milliseconds statusInterval{1000};
    int maximumRunThreads = 32;
    int schedulerThreadCount = 1;
    QDateTime startedAt;

    std::shared_ptr<HostRuntime> runtime;
    QList<QThread *> schedulerThreads;
    int nextSchedulerThread = 0;
    RunExecutor *runs = nullptr;
    QThread *leaseThread = nullptr;
    LeaseKeeper *keeper = nullptr;
    QThread *controlThread = nullptr;
    HostControl *control = nullptr;

    mutable std::mutex workersMutex;
    QMap<QString, Worker *> workers; // guarded by workersMutex

    bool running = false;
    bool stopping = false;
    bool anyAbandoned = false;
    QSet<QString> pendingStops;
    QHash<QString, Worker *> removing;
    QTimer *shutdownTimer = nullptr;

    void ensureThreads();
    QThread *pickSchedulerThread();
    void startWorker(Worker *worker);
    void onWorkerStopped(const QString &name);
    void onShutdownTimeout();
    void completeStop();
    NodeInfo nodeInfo() const;
    /*!
        Whether the caller is in the host's thread; otherwise warns (and fills \a error)
        naming \a member: the host's members that change it refuse other threads.
    */
    bool inHostThread(const char *member, QString *error = nullptr) const;
    template<typename F> void forEachWorker(F &&f) const
    {
        std::lock_guard<std::mutex> lock(workersMutex);
        for (Worker *w : workers)
            f(w);
    }
};

} // namespace Warden
