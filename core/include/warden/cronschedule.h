#pragma once

#include <warden/global.h>
#include <warden/result.h>
#include <warden/schedule.h>

#include <QtCore/QDateTime>
#include <QtCore/QString>
#include <QtCore/QTimeZone>

#include <memory>

namespace Warden {

class CronSchedulePrivate;

/*!
    A cron expression evaluated in a time zone.

    \section1 Syntax

    Five fields (minute, hour, day of month, month, day of week) or six, with a leading
    seconds field. Each field is a comma-separated list of entries:

    \list
    \li \c * (every value), \c a (one value), \c a-b (a range), \c * /s, \c a-b/s (every
        s-th value of the range) and \c a/s (the same as a-max/s);
    \li month names JAN-DEC and day names SUN-SAT, in any case; Sunday is both 0 and 7, and
        a day-of-week range ending at SUN (\c FRI-SUN) runs to the end of the week;
    \li \c ? is a synonym of \c * in the two day fields;
    \li \c L in the day of month is the last day of the month; \c 5L (or \c FRIL) in the day
        of week is the last Friday of the month;
    \li \c MON#2 (or \c 1#2) in the day of week is the second Monday of the month (1-5).
    \endlist

    The macros \c @yearly and \c @annually (0 0 1 1 *), \c @monthly (0 0 1 * *),
    \c @weekly (0 0 * * 0), \c @daily and \c @midnight (0 0 * * *) and \c @hourly
    (0 * * * *) stand for the expressions shown. Ranges never wrap (\c 22-2 is refused) and
    a step must lie between 1 and the number of values of its field.

    \section1 Day of month and day of week

    When both day fields are restricted (neither is exactly \c * or \c ?), a day matches
    when EITHER field matches, as in classic Unix (Vixie) cron: \c{0 0 13 * FRI} fires on
    every 13th and on every Friday. When one of them is \c * or \c ?, only the other
    restricts the day. Note that \c * /2 counts as restricted, unlike in Vixie cron.

    \section1 Time zones and daylight saving

    Fields are matched against the wall clock of the schedule's time zone. How wall-clock
    times map to instants depends on the hour field:

    \list
    \li An \e{all-hours} schedule is one whose hour field matches all 24 hours (\c *,
        \c ?, \c 0-23, \c * /1). It fires at every instant whose wall-clock time, read with
        the UTC offset in force at that instant, matches. It therefore follows real elapsed
        time: \c{*}/15 * * * * fires every 15 real minutes through every transition. In a
        fall-back overlap it fires in both occurrences of the repeated times; times that
        fall into a spring-forward gap do not exist and are skipped. With a half-hour shift
        (Australia/Lord_Howe, 02:00 -> 02:30) this means that \c{0 * * * *} does not fire at
        02:00 on that day and \c{30 * * * *} fires at 01:30 and at 02:30, 30 real minutes
        apart; on the fall-back day (02:00 -> 01:30) \c{45 * * * *} fires at both 01:45.
    \li Every other schedule is \e{fixed-hour} (\c{0 3 * * *}, \c{*}/15 9-17 * * *,
        \c{0 *}/2 * * *). Its matching wall-clock times are mapped to instants one by one:
        a time that occurs once fires then; a time that occurs twice (fall back) fires once,
        at its first occurrence; a time that does not exist (spring forward) fires once, at
        the first instant after the gap (02:30 Europe/Berlin on the spring-forward day fires
        at 03:00 CEST). Several times inside one gap (\c{0,15,45 2 * * *} on a 02:00 -> 03:00
        day) fire once together at the end of the gap, also when the end of the gap is itself
        a matching time.
    \endlist

    The default time zone is the system zone (UTC when it cannot be determined); \c UTC and
    every IANA name that QTimeZone knows are accepted.

    \section1 Limits

    Expressions that can never fire (\c{0 0 30 FEB *}) are refused by parse(): since the
    Gregorian calendar repeats its days and weekdays every 400 years, a schedule that does
    not fire within 400 years never fires, and every accepted schedule fires at least once in
    any 400 years. nextFireTime() costs one or two hundred nanoseconds for typical
    expressions: it skips non-matching months, days, hours and minutes with bit masks, and
    looks up offsets in a table of the zone's transitions from 1970 to 2100 that is read once
    per process and shared by all schedules in that zone (QTimeZone answers outside it). It returns
   an invalid QDateTime for an invalid \a after and after the end of the year 9999.

    CronSchedule is an immutable value: copies share their parsed form, and it is safe to use
    from several threads at once.
*/
class WARDEN_CORE_EXPORT CronSchedule final : public Schedule
{
public:
    /*!
        Parses \a expression for the time zone named \a timeZone (an IANA name such as
        "Europe/Berlin", or "UTC"; empty means the system zone). On failure the error text
        names the field, the offending text and the allowed values, for example
        "day of month: 32 is outside 1-31".
    */
    static Result<CronSchedule> parse(const QString &expression,
                                      const QString &timeZone = QString());
    //! Parses \a expression for the time zone \a timeZone, which must be valid.
    static Result<CronSchedule> parse(const QString &expression, const QTimeZone &timeZone);

    CronSchedule(const CronSchedule &other);
    CronSchedule(CronSchedule &&other) noexcept;
    CronSchedule &operator=(const CronSchedule &other);
    CronSchedule &operator=(CronSchedule &&other) noexcept;
    ~CronSchedule() override;

    //! The expression as given, with runs of white space reduced to one space.
    QString expression() const;
    QTimeZone timeZone() const;
    //! Whether the expression has the optional leading seconds field.
    bool hasSeconds() const;
    //! Whether the hour field leaves out some hours (see "Time zones and daylight saving").
    bool isFixedHour() const;

    QDateTime nextFireTime(const QDateTime &after) const override;
    //! For example: cron "0 3 * * *" Europe/Berlin
    QString toString() const override;
    std::unique_ptr<Schedule> clone() const override;

private:
    explicit CronSchedule(std::shared_ptr<const CronSchedulePrivate> d);
    std::shared_ptr<const CronSchedulePrivate> d;
};

} // namespace Warden
