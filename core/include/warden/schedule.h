#pragma once

#include <warden/global.h>

#include <QtCore/QDateTime>
#include <QtCore/QList>
#include <QtCore/QString>

#include <chrono>
#include <memory>

namespace Warden {

/*!
    When a periodic worker runs: a pure interface that maps an instant to the next instant
    the schedule fires at. Implementations are immutable after construction and therefore
    safe to share between threads.

    Two schedules ship with Warden: IntervalSchedule (a fixed interval on a grid anchored
    at the worker's start) and CronSchedule (a cron expression in a time zone).
*/
class WARDEN_CORE_EXPORT Schedule
{
public:
    virtual ~Schedule();

    /*!
        Returns the first fire time strictly after \a after (both in UTC, millisecond
        precision), or an invalid QDateTime when the schedule never fires again.
    */
    virtual QDateTime nextFireTime(const QDateTime &after) const = 0;

    //! A short human-readable form ("every 10m", "cron 0 3 * * * Europe/Berlin").
    virtual QString toString() const = 0;

    //! A copy of this schedule.
    virtual std::unique_ptr<Schedule> clone() const = 0;

    //! The next \a count fire times after \a after (fewer when the schedule ends).
    QList<QDateTime> nextFireTimes(const QDateTime &after, int count) const;

protected:
    Schedule() = default;
    Schedule(const Schedule &) = default;
    Schedule &operator=(const Schedule &) = default;
};

/*!
    A fixed interval. With FixedRate (the default) a worker's starts lie on a grid anchored
    at its start plus the initial delay, so they never drift: a 100 ms worker whose work
    takes 30 ms still starts every 100 ms. With FixedDelay the next start is the interval
    after the previous run finished.

    A worker drives interval schedules with the monotonic clock, so changes of the wall
    clock do not move them; nextFireTime() answers on the wall clock for display, relative
    to anchor().
*/
class WARDEN_CORE_EXPORT IntervalSchedule final : public Schedule
{
public:
    enum class Mode { FixedRate, FixedDelay };

    explicit IntervalSchedule(std::chrono::milliseconds interval,
                              std::chrono::milliseconds initialDelay = std::chrono::milliseconds(0),
                              Mode mode = Mode::FixedRate);

    std::chrono::milliseconds interval() const { return m_interval; }
    std::chrono::milliseconds initialDelay() const { return m_initialDelay; }
    /*!
        False for an interval that is not positive or an initial delay that is negative: it
        never fires, and a PeriodicWorker refuses it.
    */
    bool isValid() const { return m_interval.count() > 0 && m_initialDelay.count() >= 0; }
    Mode mode() const { return m_mode; }

    //! The instant the grid is anchored at (the first fire time); defaults to the epoch.
    QDateTime anchor() const { return m_anchor; }
    void setAnchor(const QDateTime &anchor) { m_anchor = anchor.toUTC(); }

    QDateTime nextFireTime(const QDateTime &after) const override;
    QString toString() const override;
    std::unique_ptr<Schedule> clone() const override;

    //! Formats a duration the way configs write it: "90s", "10m", "1h30m", "250ms".
    static QString formatDuration(std::chrono::milliseconds duration);
    /*!
        Parses "250ms", "90s", "10m", "1h30m", "2d", or a sum of such parts. Returns false
        and sets \a error (when given) for anything else, including zero and negative values.
    */
    static bool parseDuration(const QString &text, std::chrono::milliseconds *duration,
                              QString *error = nullptr);

private:
    std::chrono::milliseconds m_interval;
    std::chrono::milliseconds m_initialDelay;
    Mode m_mode;
    QDateTime m_anchor;
};

} // namespace Warden
