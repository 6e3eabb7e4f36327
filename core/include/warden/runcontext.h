#pragma once

#include <warden/global.h>
#include <warden/stoptoken.h>

#include <QtCore/QDateTime>
#include <QtCore/QDebug>
#include <QtCore/QString>

#include <chrono>
#include <functional>
#include <memory>

namespace Warden {

class LeaseGuard;
class RunContext;

/*!
    A log line being written: stream values into it as into QDebug; the line is logged
    (to the warden.worker category and to the store) when the stream is destroyed.

        context.info() << "marked" << count << "users passive";
*/
class WARDEN_CORE_EXPORT LogStream
{
public:
    LogStream(const RunContext &context, QtMsgType level);
    ~LogStream();
    LogStream(const LogStream &) = delete;
    LogStream &operator=(const LogStream &) = delete;

    template<typename T> LogStream &operator<<(const T &value)
    {
        m_debug << value;
        return *this;
    }

private:
    const RunContext &m_context;
    QtMsgType m_level;
    QString m_text;
    QDebug m_debug;
};

/*!
    What one run of a worker gets: its identity, its times, its stop token, the fencing token
    of the lease it holds, and a logger whose lines carry the worker's name and reach the
    store.

    A RunContext lives for one run and belongs to the thread that runs it.

    \section Fencing
    When the run holds a lease (a per-run lock or the leader lease), fencingToken() is the
    lease's token: it grows on every takeover, so a resource that remembers the greatest
    token it has seen can refuse writes from a node that lost its lease without knowing it.
*/
class WARDEN_CORE_EXPORT RunContext
{
public:
    struct Data
    {
        QString runId;
        QString workerName;
        QString nodeId;
        QDateTime scheduledAt;
        QDateTime startedAt;
        qint64 fencingToken = 0;
        QString lockName;
        //! The lease the run holds (set by the host); empty when it holds none.
        std::shared_ptr<const LeaseGuard> lease;
        RunTrigger trigger = RunTrigger::Schedule;
        //! The scheduled and actual start on the monotonic clock, for precise lateness.
        std::chrono::steady_clock::time_point scheduledSteady;
        std::chrono::steady_clock::time_point startedSteady;
    };

    RunContext(Data data, StopToken stopToken);
    ~RunContext();
    RunContext(const RunContext &) = delete;
    RunContext &operator=(const RunContext &) = delete;

    const QString &runId() const { return m_data.runId; }
    const QString &workerName() const { return m_data.workerName; }
    const QString &nodeId() const { return m_data.nodeId; }
    //! When the schedule wanted the run to start (UTC).
    const QDateTime &scheduledAt() const { return m_data.scheduledAt; }
    //! When the run actually started (UTC).
    const QDateTime &startedAt() const { return m_data.startedAt; }
    //! The fencing token of the lease this run holds; 0 when it holds none.
    //! How late the run started against its schedule, on the monotonic clock.
    std::chrono::nanoseconds startLateness() const
    {
        return m_data.startedSteady - m_data.scheduledSteady;
    }
    std::chrono::steady_clock::time_point scheduledSteady() const { return m_data.scheduledSteady; }
    qint64 fencingToken() const { return m_data.fencingToken; }
    bool holdsLease() const { return m_data.fencingToken > 0; }
    const QString &lockName() const { return m_data.lockName; }

    /*!
        When the lease this run holds would end by this node's monotonic clock unless it is
        renewed: the moment the acquire or the last successful renewal was sent, plus the
        ttl. It moves on with every renewal. The database counts the same ttl from a later
        moment, so no other node can take the lease over before this time.
        steady_clock::time_point::max() when the run holds no lease.
    */
    std::chrono::steady_clock::time_point leaseValidUntil() const;
    /*!
        When the host stops this run unless the lease was renewed by then: leaseValidUntil()
        less a safety margin (a tenth of the ttl, at least 50 ms). The stop token fires then
        with StopReason::LeaseLost. Work that cannot stop at once (a child process, say) must
        be gone by leaseValidUntil(). steady_clock::time_point::max() without a lease.
    */
    std::chrono::steady_clock::time_point leaseFenceAt() const;
    //! What started the run: its schedule, "run now", a catch-up of a missed tick.
    RunTrigger trigger() const { return m_data.trigger; }
    //! True for a run started by "run now" rather than by the schedule.
    bool isManual() const { return m_data.trigger == RunTrigger::RunNow; }

    const StopToken &stopToken() const { return m_stopToken; }
    bool isStopRequested() const { return m_stopToken.isStopRequested(); }

    /*!
        Marks the run as failed with \a error. The run goes on until doWork() returns; it is
        then recorded as failed. Throwing any exception from doWork() has the same effect.
    */
    void fail(const QString &error);
    bool hasFailed() const { return m_failed; }
    /*!
        For work done in another process: when it really ended, on the monotonic clock. The
        run's end is recorded at that moment rather than when doWork() returns, which differs
        when this process was frozen meanwhile (a command ended by its keeper at the lease's
        fence time while warden was stopped).
    */
    void setWorkEndedAt(std::chrono::steady_clock::time_point at) { m_workEndedAt = at; }
    std::chrono::steady_clock::time_point workEndedAt() const { return m_workEndedAt; }
    const QString &errorString() const { return m_error; }

    void log(QtMsgType level, const QString &message) const;
    LogStream debug() const { return LogStream(*this, QtDebugMsg); }
    LogStream info() const { return LogStream(*this, QtInfoMsg); }
    LogStream warning() const { return LogStream(*this, QtWarningMsg); }
    LogStream error() const { return LogStream(*this, QtCriticalMsg); }

    //! Where log() sends lines; set by the host. Thread-safe to call from the run's thread.
    using LogSink = std::function<void(const RunContext &, QtMsgType, const QString &)>;
    void setLogSink(LogSink sink) { m_sink = std::move(sink); }

private:
    Data m_data;
    StopToken m_stopToken;
    bool m_failed = false;
    QString m_error;
    LogSink m_sink;
    std::chrono::steady_clock::time_point m_workEndedAt{};
};

} // namespace Warden
