#pragma once

#include <warden/global.h>
#include <warden/records.h>

#include <QtCore/QDateTime>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <chrono>
#include <memory>

namespace Warden {

class Host;
class WorkerPrivate;

/*!
    The base of every worker: a QObject with a unique name, a state, an enabled switch and a
    lock configuration. Derive from PeriodicWorker or ContinuousWorker, not from Worker.

    A worker is run by a Host: Host::addWorker() takes ownership and moves the worker into
    one of the host's worker threads, where its timers live. From then on, the worker's own
    members are only called by the host; use the Host's members (setWorkerEnabled(),
    runNow(), ...) to steer it, and the signals below to watch it (connect with
    Qt::QueuedConnection or Qt::AutoConnection; they are emitted in the worker's thread).

    Names consist of letters, digits, '.', '_' and '-', at most 128 characters.
*/
class WARDEN_CORE_EXPORT Worker : public QObject
{
    Q_OBJECT
    Q_PROPERTY(QString name READ name CONSTANT)
    Q_PROPERTY(Warden::WorkerState state READ state NOTIFY stateChanged)
public:
    enum class Kind { Periodic, Continuous };
    Q_ENUM(Kind)

    ~Worker() override;

    QString name() const;
    Kind kind() const;
    //! The current state; thread-safe.
    WorkerState state() const;

    //! True when the name is valid; otherwise false with a message in \a error.
    static bool isValidName(const QString &name, QString *error = nullptr);

    /*!
        Configures the worker's lock (before the worker is added to a host). An empty
        \a lockName means a lock named after the worker.
    */
    void setLock(LockMode mode, const QString &lockName = QString());
    LockMode lockMode() const;
    QString lockName() const;
    //! The worker's enabled flag as configured; the host's global switch comes on top.
    bool isEnabled() const;
    //! Sets the initial enabled flag (before the worker is added to a host).
    void setEnabled(bool enabled);

    //! A snapshot of the worker's status, for display; thread-safe.
    WorkerStatus status() const;

Q_SIGNALS:
    void stateChanged(Warden::WorkerState state);
    //! A run is starting (emitted in the worker's thread, before the run's thread enters it).
    void runStarted(const QString &runId, const QDateTime &scheduledAt);
    void runFinished(const Warden::RunRecord &run);

protected:
    Worker(const QString &name, Kind kind, QObject *parent);

    std::unique_ptr<WorkerPrivate> d_ptr;

private:
    Q_DISABLE_COPY_MOVE(Worker)
    friend class Host;
    friend class HostPrivate;
    friend class WorkerPrivate;
    friend class PeriodicWorkerPrivate;
    friend class ContinuousWorkerPrivate;
};

} // namespace Warden
