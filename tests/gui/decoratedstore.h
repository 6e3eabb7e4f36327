#pragma once

// A Store and a LockManager around real ones that can answer slowly (every read sleeps) or
// fail (every read errs as an unreachable database would): the console's tests and its
// benchmark use them in the query thread.

#include <warden/lockmanager.h>
#include <warden/store.h>

#include <QtCore/QThread>

#include <atomic>
#include <memory>

namespace ConsoleTest {

struct Faults
{
    std::atomic<int> delayMs{0};
    std::atomic<bool> isFailing{false};
    std::atomic<qint64> reads{0};

    //! False when the read must fail.
    bool enter()
    {
        ++reads;
        if (const int ms = delayMs.load())
            QThread::msleep(ulong(ms));
        return !isFailing.load();
    }
};

inline QString outageText()
{
    return QStringLiteral("could not connect to the database (simulated outage)");
}

class DecoratedStore final : public Warden::Store
{
    Q_OBJECT
public:
    DecoratedStore(std::shared_ptr<Warden::Store> inner, std::shared_ptr<Faults> faults)
        : m_inner(std::move(inner))
        , m_faults(std::move(faults))
    {
        connect(m_inner.get(), &Warden::Store::workerSettingsChanged, this,
                &Warden::Store::workerSettingsChanged, Qt::DirectConnection);
    }

    void publishNode(const Warden::NodeInfo &node) override { m_inner->publishNode(node); }
    void removeNode(const QString &id) override { m_inner->removeNode(id); }
    void publishWorkerStatus(const Warden::WorkerStatus &s) override
    {
        m_inner->publishWorkerStatus(s);
    }
    void removeWorkerStatus(const QString &node, const QString &worker) override
    {
        m_inner->removeWorkerStatus(node, worker);
    }
    void recordRun(const Warden::RunRecord &run) override { m_inner->recordRun(run); }
    void appendLog(const Warden::LogLine &line) override { m_inner->appendLog(line); }
    bool flush(std::chrono::milliseconds timeout) override { return m_inner->flush(timeout); }
    Warden::StoreStatistics statistics() const override { return m_inner->statistics(); }

    template<typename T, typename F> Warden::Result<T> read(F &&f)
    {
        if (!m_faults->enter())
            return Warden::Result<T>::failure(outageText());
        return f();
    }

    Warden::Result<QList<Warden::WorkerSettings>> workerSettings() override
    {
        return read<QList<Warden::WorkerSettings>>([&] { return m_inner->workerSettings(); });
    }
    Warden::Result<QList<Warden::NodeInfo>> nodes() override
    {
        return read<QList<Warden::NodeInfo>>([&] { return m_inner->nodes(); });
    }
    Warden::Result<QList<Warden::WorkerStatus>> workerStatuses() override
    {
        return read<QList<Warden::WorkerStatus>>([&] { return m_inner->workerStatuses(); });
    }
    Warden::Result<QList<Warden::RunRecord>> runs(const Warden::RunQuery &query) override
    {
        return read<QList<Warden::RunRecord>>([&] { return m_inner->runs(query); });
    }
    Warden::Result<std::optional<Warden::RunRecord>> lastScheduledRun(const QString &w) override
    {
        return read<std::optional<Warden::RunRecord>>([&] { return m_inner->lastScheduledRun(w); });
    }
    Warden::Result<QList<Warden::StoredLogLine>> logLines(const Warden::LogQuery &query) override
    {
        return read<QList<Warden::StoredLogLine>>([&] { return m_inner->logLines(query); });
    }
    Warden::Result<QList<Warden::AuditEntry>> auditTrail(int limit) override
    {
        return read<QList<Warden::AuditEntry>>([&] { return m_inner->auditTrail(limit); });
    }
    bool setWorkerSettings(const Warden::WorkerSettings &settings, QString *error) override
    {
        if (!m_faults->enter()) {
            if (error)
                *error = outageText();
            return false;
        }
        return m_inner->setWorkerSettings(settings, error);
    }
    Warden::Result<qint64> requestTrigger(const QString &worker, const QString &user) override
    {
        return read<qint64>([&] { return m_inner->requestTrigger(worker, user); });
    }
    bool recordAudit(const Warden::AuditEntry &entry, QString *error) override
    {
        return m_inner->recordAudit(entry, error);
    }
    Warden::Result<int> closeRunningRuns(const QString &nodeId, const QString &reason,
                                         const QDateTime &finishedAt) override
    {
        return m_inner->closeRunningRuns(nodeId, reason, finishedAt);
    }

private:
    std::shared_ptr<Warden::Store> m_inner;
    std::shared_ptr<Faults> m_faults;
};

class DecoratedLockManager final : public Warden::LockManager
{
    Q_OBJECT
public:
    DecoratedLockManager(std::shared_ptr<Warden::LockManager> inner, std::shared_ptr<Faults> faults)
        : m_inner(std::move(inner))
        , m_faults(std::move(faults))
    {
        connect(m_inner.get(), &Warden::LockManager::released, this, &Warden::LockManager::released,
                Qt::DirectConnection);
    }
    Attempt tryAcquire(const QString &name, const QString &holder,
                       std::chrono::milliseconds ttl) override
    {
        return m_inner->tryAcquire(name, holder, ttl);
    }
    Attempt renew(const Warden::Lease &lease, std::chrono::milliseconds ttl) override
    {
        return m_inner->renew(lease, ttl);
    }
    bool release(const Warden::Lease &lease, QString *error) override
    {
        return m_inner->release(lease, error);
    }
    bool forceRelease(const QString &name, QString *error) override
    {
        if (!m_faults->enter()) {
            if (error)
                *error = outageText();
            return false;
        }
        return m_inner->forceRelease(name, error);
    }
    Warden::Result<QList<Warden::Lease>> leases() override
    {
        if (!m_faults->enter())
            return Warden::Result<QList<Warden::Lease>>::failure(outageText());
        return m_inner->leases();
    }
    bool isReleaseNotified() const override { return m_inner->isReleaseNotified(); }

private:
    std::shared_ptr<Warden::LockManager> m_inner;
    std::shared_ptr<Faults> m_faults;
};

} // namespace ConsoleTest
