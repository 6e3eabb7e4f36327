#pragma once

#include <warden/runcontext.h>
#include <warden/schedule.h>
#include <warden/worker.h>

#include <functional>

namespace Warden {

class PeriodicWorkerPrivate;

/*!
    A worker that runs doWork() on a schedule: a fixed interval (setInterval()) or any
    Schedule such as a CronSchedule (setSchedule()).

    \list
    \li A worker never overlaps itself. A tick that falls while the previous run is still
        going, or while the process was suspended, follows the misfire policy: RunOnce runs
        once at once (the default), Skip waits for the next time of the schedule.
    \li doWork() runs in a thread of the host's run pool, not in the worker's own thread, so a
        run that blocks for minutes delays no other worker's tick.
    \li An exception of any type, or RunContext::fail(), fails the run: it is logged with the
        worker's name and recorded, and the schedule goes on.
    \li With a run timeout, the run's stop token fires when the timeout elapses; the run is
        recorded as timed out when it returns.
    \endlist

    Minimal use:
    \code
    class MarkUsersPassive final : public Warden::PeriodicWorker {
    public:
        MarkUsersPassive() : PeriodicWorker(QStringLiteral("mark-users-passive")) {
            setInterval(std::chrono::minutes(10));
        }
    protected:
        void doWork(Warden::RunContext &context) override { ... }
    };
    \endcode
*/
class WARDEN_CORE_EXPORT PeriodicWorker : public Worker
{
    Q_OBJECT
public:
    explicit PeriodicWorker(const QString &name, QObject *parent = nullptr);
    ~PeriodicWorker() override;

    /*!
        A worker that calls \a work for each run, for the cases where a subclass is more
        ceremony than it is worth.
    */
    static PeriodicWorker *create(const QString &name, std::function<void(RunContext &)> work);

    //! Runs every \a interval on a grid anchored at the start (FixedRate) or after each run.
    void setInterval(std::chrono::milliseconds interval,
                     IntervalSchedule::Mode mode = IntervalSchedule::Mode::FixedRate);
    //! Delays the first run of an interval schedule by \a delay after the worker starts.
    void setInitialDelay(std::chrono::milliseconds delay);
    //! Any schedule, such as a CronSchedule; replaces the interval.
    void setSchedule(const Schedule &schedule);
    //! The schedule; never null once set. Thread-safe (schedules are immutable).
    std::shared_ptr<const Schedule> schedule() const;

    void setMisfirePolicy(MisfirePolicy policy);
    /*!
        How late a tick may start, at most, so that ticks of several workers that fall close
        together start in one wake-up of their thread (as timer slack does for the kernel's
        timers). Defaults to a thousandth of the interval and at most 1 ms (1 ms for
        calendar schedules); zero asks for a wake-up of its own for every tick.
    */
    void setStartTolerance(std::chrono::microseconds tolerance);
    std::chrono::microseconds startTolerance() const;
    MisfirePolicy misfirePolicy() const;
    //! Requests stop of a run that takes longer than \a timeout; zero means no timeout.
    void setRunTimeout(std::chrono::milliseconds timeout);
    std::chrono::milliseconds runTimeout() const;
    /*!
        Catch up after downtime (like systemd's Persistent=): when the worker starts and the
        store shows that the last fire time of its calendar schedule before now was not run,
        it runs once at once. Off by default.
    */
    void setCatchUp(bool catchUp);
    bool isCatchUp() const;

protected:
    //! One run. Called in a run-pool thread; must honour context.stopToken().
    virtual void doWork(RunContext &context) = 0;

private:
    friend class PeriodicWorkerPrivate;
    PeriodicWorkerPrivate *d_func();
    const PeriodicWorkerPrivate *d_func() const;
};

} // namespace Warden
