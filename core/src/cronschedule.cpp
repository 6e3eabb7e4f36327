#include <warden/cronschedule.h>

#include <QtCore/QMutex>
#include <QtCore/QStringList>

#include <map>
#include <vector>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>

namespace Warden {

namespace {

// ---------------------------------------------------------------------------------------------
// Calendar arithmetic on "wall seconds": seconds since 1970-01-01 00:00 of a local civil time,
// counted as if every day had 86400 seconds (proleptic Gregorian calendar).

constexpr qint64 SecondsPerDay = 86400;
constexpr int MaxYear = 9999;
constexpr int CycleYears = 400; // the Gregorian calendar repeats days and weekdays every 400 years

qint64 floorDiv(qint64 a, qint64 b)
{
    qint64 q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        --q;
    return q;
}

// Howard Hinnant's days_from_civil / civil_from_days.
qint64 daysFromCivil(qint64 y, int m, int d)
{
    y -= m <= 2;
    const qint64 era = floorDiv(y, 400);
    const qint64 yoe = y - era * 400;
    const qint64 doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const qint64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

struct Civil
{
    qint64 year;
    int month;
    int day;
};

Civil civilFromDays(qint64 z)
{
    z += 719468;
    const qint64 era = floorDiv(z, 146097);
    const qint64 doe = z - era * 146097;
    const qint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const qint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const qint64 mp = (5 * doy + 2) / 153;
    const int d = int(doy - (153 * mp + 2) / 5 + 1);
    const int m = int(mp < 10 ? mp + 3 : mp - 9);
    return {yoe + era * 400 + (m <= 2), m, d};
}

bool isLeapYear(qint64 y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int daysInMonth(qint64 y, int m)
{
    static constexpr std::array<int, 13> days = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && isLeapYear(y) ? 29 : days[size_t(m)];
}

// 0 = Sunday; 1970-01-01 was a Thursday.
int weekdayFromDays(qint64 days)
{
    return int(days + 4 - floorDiv(days + 4, 7) * 7);
}

// The lowest set bit of mask at or above from, or -1.
int nextBit(quint64 mask, int from)
{
    if (from >= 64)
        return -1;
    const quint64 rest = mask >> from;
    if (rest == 0)
        return -1;
    return from + __builtin_ctzll(rest);
}

int lowestBit(quint64 mask)
{
    return mask == 0 ? -1 : __builtin_ctzll(mask);
}

// ---------------------------------------------------------------------------------------------
// Fields

enum FieldIndex { Second, Minute, Hour, DayOfMonth, Month, DayOfWeek, FieldCount };

struct FieldInfo
{
    const char *name;
    int min;
    int max;
};

constexpr std::array<FieldInfo, FieldCount> fieldInfo = {{
    {"second", 0, 59},
    {"minute", 0, 59},
    {"hour", 0, 23},
    {"day of month", 1, 31},
    {"month", 1, 12},
    {"day of week", 0, 7},
}};

const std::array<const char *, 12> monthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                 "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
const std::array<const char *, 7> dayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};
const std::array<const char *, 13> monthLongNames = {
    "",     "January", "February",  "March",   "April",    "May",     "June",
    "July", "August",  "September", "October", "November", "December"};

QString fieldName(int field)
{
    return QLatin1String(fieldInfo[size_t(field)].name);
}

QString allowedValues(int field)
{
    const FieldInfo &info = fieldInfo[size_t(field)];
    QString text = QStringLiteral("%1-%2").arg(info.min).arg(info.max);
    if (field == Month)
        text += QStringLiteral(" or JAN-DEC");
    else if (field == DayOfWeek)
        text += QStringLiteral(" or SUN-SAT");
    else if (field == DayOfMonth)
        text += QStringLiteral(" or L");
    return text;
}

// What one field matches.
struct FieldMask
{
    quint64 bits = 0;        // bit v set: value v matches (day of week: 0-6, Sunday folded to 0)
    bool isStar = false;     // exactly "*" or "?"
    bool lastDay = false;    // day of month: L
    quint8 lastWeekdays = 0; // day of week: bit w set for "wL"
    std::array<quint8, 7> nthWeekdays = {}; // day of week: bit n set for "w#n"
};

class FieldParser
{
public:
    FieldParser(int field, const QString &text)
        : m_field(field)
        , m_text(text)
    {}

    // Returns an empty string on success.
    QString parse(FieldMask *mask)
    {
        if (m_text == QLatin1String("*") || m_text == QLatin1String("?")) {
            if (m_text == QLatin1String("?") && m_field != DayOfMonth && m_field != DayOfWeek)
                return error(QStringLiteral("\"?\" is only allowed in day of month and day of "
                                            "week"));
            mask->isStar = true;
            mask->bits = rangeBits(info().min, info().max, 1);
            return QString();
        }
        const QStringList entries = m_text.split(QLatin1Char(','));
        for (const QString &entry : entries) {
            if (entry.isEmpty())
                return error(QStringLiteral("empty entry in \"%1\"").arg(m_text));
            const QString message = parseEntry(entry, mask);
            if (!message.isEmpty())
                return message;
        }
        return QString();
    }

private:
    const FieldInfo &info() const { return fieldInfo[size_t(m_field)]; }

    QString error(const QString &what) const
    {
        return fieldName(m_field) + QStringLiteral(": ") + what;
    }

    QString notANumber(const QString &text) const
    {
        return error(QStringLiteral("\"%1\" is not a number or name, expected %2")
                         .arg(text, allowedValues(m_field)));
    }

    QString outside(const QString &text) const
    {
        return error(
            QStringLiteral("%1 is outside %2-%3").arg(text).arg(info().min).arg(info().max));
    }

    quint64 rangeBits(int from, int to, int step) const
    {
        quint64 bits = 0;
        for (int v = from; v <= to; v += step)
            bits |= quint64(1) << (m_field == DayOfWeek ? v % 7 : v);
        return bits;
    }

    // Parses a plain decimal number; returns -1 when text is not one. Values above 99999 are
    // reported as 99999, which is outside every field.
    static qint64 number(const QString &text)
    {
        if (text.isEmpty())
            return -1;
        qint64 value = 0;
        for (QChar c : text) {
            if (c < QLatin1Char('0') || c > QLatin1Char('9'))
                return -1;
            value = std::min<qint64>(value * 10 + (c.unicode() - '0'), 99999);
        }
        return value;
    }

    // A value of this field: a number or a name. Sets *value, or returns an error.
    QString value(const QString &text, int *result, const QString &entry) const
    {
        if (text.isEmpty())
            return notANumber(entry);
        const qint64 n = number(text);
        if (n >= 0) {
            if (n < info().min || n > info().max)
                return outside(text);
            *result = int(n);
            return QString();
        }
        if (m_field == Month || m_field == DayOfWeek) {
            const QString upper = text.toUpper();
            const int count = m_field == Month ? 12 : 7;
            for (int i = 0; i < count; ++i) {
                const char *name = m_field == Month ? monthNames[size_t(i)] : dayNames[size_t(i)];
                if (upper == QLatin1String(name)) {
                    *result = m_field == Month ? i + 1 : i;
                    return QString();
                }
            }
        }
        return notANumber(text);
    }

    QString parseEntry(const QString &entry, FieldMask *mask)
    {
        const bool dayField = m_field == DayOfMonth || m_field == DayOfWeek;

        // Specials: L, wL, w#n.
        if (entry.contains(QLatin1Char('#'))) {
            if (m_field != DayOfWeek)
                return error(QStringLiteral("\"%1\": # is only allowed in day of week").arg(entry));
            const qsizetype hash = entry.indexOf(QLatin1Char('#'));
            int weekday = 0;
            const QString message = value(entry.left(hash), &weekday, entry);
            if (!message.isEmpty())
                return message;
            const QString occurrence = entry.mid(hash + 1);
            const qint64 n = number(occurrence);
            if (n < 0)
                return error(QStringLiteral("occurrence \"%1\" in \"%2\" is not a number, expected "
                                            "1-5")
                                 .arg(occurrence, entry));
            if (n < 1 || n > 5)
                return error(QStringLiteral("occurrence %1 in \"%2\" is outside 1-5")
                                 .arg(occurrence, entry));
            mask->nthWeekdays[size_t(weekday % 7)] |= quint8(1u << n);
            return QString();
        }
        if (entry.compare(QLatin1String("L"), Qt::CaseInsensitive) == 0) {
            if (m_field == DayOfMonth) {
                mask->lastDay = true;
                return QString();
            }
            if (m_field == DayOfWeek)
                return error(QStringLiteral("\"L\" needs a weekday before it, e.g. 5L for the last "
                                            "Friday"));
            return error(QStringLiteral("\"L\" is only allowed in day of month and day of week"));
        }
        if (entry.size() > 1 && entry.endsWith(QLatin1Char('L'), Qt::CaseInsensitive) &&
            !entry.contains(QLatin1Char('/')) && !entry.contains(QLatin1Char('-'))) {
            if (m_field == DayOfWeek) {
                int weekday = 0;
                const QString message = value(entry.chopped(1), &weekday, entry);
                if (!message.isEmpty())
                    return message;
                mask->lastWeekdays |= quint8(1u << (weekday % 7));
                return QString();
            }
            if (m_field == DayOfMonth)
                return error(QStringLiteral("\"%1\" is not supported, L alone is the last day of "
                                            "the month")
                                 .arg(entry));
        }
        if (entry.contains(QLatin1Char('W'), Qt::CaseInsensitive) && m_field == DayOfMonth &&
            number(entry.chopped(1)) >= 0)
            return error(QStringLiteral("\"%1\": W (nearest weekday) is not supported").arg(entry));

        // base[/step]
        QString base = entry;
        int step = 1;
        bool hasStep = false;
        const qsizetype slash = entry.indexOf(QLatin1Char('/'));
        if (slash >= 0) {
            base = entry.left(slash);
            const QString stepText = entry.mid(slash + 1);
            const qint64 n = number(stepText);
            const int valueCount = info().max - info().min + 1 - (m_field == DayOfWeek ? 1 : 0);
            if (n < 0)
                return error(QStringLiteral("step \"%1\" in \"%2\" is not a number, expected 1-%3")
                                 .arg(stepText, entry)
                                 .arg(valueCount));
            if (n < 1 || n > valueCount)
                return error(QStringLiteral("step %1 in \"%2\" is outside 1-%3")
                                 .arg(stepText, entry)
                                 .arg(valueCount));
            step = int(n);
            hasStep = true;
            if (base.isEmpty())
                return error(QStringLiteral("\"%1\" has no range before the step").arg(entry));
        }

        int from = info().min;
        int to = m_field == DayOfWeek ? 6 : info().max;
        if (base == QLatin1String("*") || base == QLatin1String("?")) {
            if (base == QLatin1String("?") && !dayField)
                return error(QStringLiteral("\"?\" is only allowed in day of month and day of "
                                            "week"));
        } else {
            const qsizetype dash = base.indexOf(QLatin1Char('-'));
            if (dash >= 0) {
                QString message = value(base.left(dash), &from, entry);
                if (!message.isEmpty())
                    return message;
                message = value(base.mid(dash + 1), &to, entry);
                if (!message.isEmpty())
                    return message;
                // FRI-SUN: a day-of-week range may end at Sunday written as 0 or SUN.
                if (m_field == DayOfWeek && to == 0 && from > 0)
                    to = 7;
                if (from > to)
                    return error(QStringLiteral("range \"%1\" runs backwards; ranges do not wrap, "
                                                "write two ranges within %2-%3")
                                     .arg(base)
                                     .arg(info().min)
                                     .arg(info().max));
            } else {
                const QString message = value(base, &from, entry);
                if (!message.isEmpty())
                    return message;
                if (!hasStep)
                    to = from;
                // "a/step" runs from a to the end of the field.
            }
        }
        mask->bits |= rangeBits(from, to, step);
        return QString();
    }

    int m_field;
    QString m_text;
};

// ---------------------------------------------------------------------------------------------
// Time zone access

constexpr qint64 NoTransition = std::numeric_limits<qint64>::max();

QDateTime utcFromSeconds(qint64 seconds)
{
    return QDateTime::fromMSecsSinceEpoch(seconds * 1000, Qt::UTC);
}

/*
    The transitions of one zone from 1970 to 2100, read once per process and shared by every
    schedule in that zone: a binary search here costs a few nanoseconds where a QTimeZone
    query costs over a hundred. Outside that range the schedule asks QTimeZone.
*/
struct ZoneTable
{
    qint64 from = 0;
    qint64 to = 0;
    int initialOffset = 0;
    std::vector<qint64> at;
    std::vector<int> offsetAfter;

    bool covers(qint64 seconds) const { return seconds >= from && seconds < to; }

    int offsetAt(qint64 seconds) const
    {
        const auto it = std::upper_bound(at.begin(), at.end(), seconds);
        return it == at.begin() ? initialOffset : offsetAfter[size_t(it - at.begin() - 1)];
    }

    // The first transition after seconds inside the table, or NoTransition.
    qint64 nextTransitionAfter(qint64 seconds) const
    {
        const auto it = std::upper_bound(at.begin(), at.end(), seconds);
        return it == at.end() ? NoTransition : *it;
    }
};

std::shared_ptr<const ZoneTable> zoneTable(const QTimeZone &zone)
{
    static QMutex mutex;
    static std::map<QByteArray, std::shared_ptr<const ZoneTable>> tables;
    const QMutexLocker locker(&mutex);
    std::shared_ptr<const ZoneTable> &slot = tables[zone.id()];
    if (!slot) {
        auto table = std::make_shared<ZoneTable>();
        const QDateTime from(QDate(1970, 1, 1), QTime(0, 0), Qt::UTC);
        const QDateTime to(QDate(2100, 1, 1), QTime(0, 0), Qt::UTC);
        table->from = from.toSecsSinceEpoch();
        table->to = to.toSecsSinceEpoch();
        table->initialOffset = zone.offsetFromUtc(from);
        for (const QTimeZone::OffsetData &transition : zone.transitions(from, to)) {
            const qint64 at = floorDiv(transition.atUtc.toMSecsSinceEpoch(), 1000);
            if (at <= table->from || at >= table->to ||
                (!table->at.empty() && at <= table->at.back()))
                continue;
            table->at.push_back(at);
            table->offsetAfter.push_back(transition.offsetFromUtc);
        }
        slot = std::move(table);
    }
    return slot;
}

} // namespace

class CronSchedulePrivate
{
public:
    QString expression;
    QTimeZone zone;
    bool seconds = false;
    bool zoneHasTransitions = true;
    int fixedOffset = 0;                    // the offset of a zone without transitions
    std::shared_ptr<const ZoneTable> table; // zones with transitions

    std::array<FieldMask, FieldCount> fields;

    // Derived masks
    quint64 secondBits = 0;
    quint64 minuteBits = 0;
    quint64 hourBits = 0;
    quint64 monthBits = 0;
    bool fixedHour = false;
    bool hasWeekdaySpecials = false;

    quint32 dayBits(qint64 year, int month) const;
    std::optional<qint64> nextMatchingWall(qint64 from, qint64 lastYear) const;

    int offsetAt(qint64 seconds) const;
    qint64 nextTransitionAfter(qint64 seconds) const;

    struct Mapping
    {
        qint64 instant = 0;    // the instant a wall time fires at
        bool repeated = false; // the wall time occurs twice
    };
    Mapping mapWallTime(qint64 wall) const;

    std::optional<qint64> nextAllHours(qint64 afterSeconds, qint64 lastYear) const;
    std::optional<qint64> nextFixedHour(qint64 afterSeconds, qint64 lastYear) const;
};

// The days of (year, month) that match both day fields, as bits 1-31.
quint32 CronSchedulePrivate::dayBits(qint64 year, int month) const
{
    const FieldMask &dom = fields[DayOfMonth];
    const FieldMask &dow = fields[DayOfWeek];
    const int dim = daysInMonth(year, month);
    const quint64 valid = ((quint64(1) << (dim + 1)) - 1) & ~quint64(1);

    quint64 domBits = dom.bits;
    if (dom.lastDay)
        domBits |= quint64(1) << dim;
    domBits &= valid;
    if (dow.isStar)
        return quint32(domBits);

    const int firstWeekday = weekdayFromDays(daysFromCivil(year, month, 1));
    // Days 1-7 that fall on a matching weekday, repeated over the month.
    quint64 week = 0;
    for (int k = 0; k < 7; ++k) {
        if (dow.bits & (quint64(1) << ((firstWeekday + k) % 7)))
            week |= quint64(1) << (k + 1);
    }
    quint64 dowBits = week | week << 7 | week << 14 | week << 21 | week << 28;
    if (hasWeekdaySpecials) {
        for (int w = 0; w < 7; ++w) {
            const int first = 1 + (w - firstWeekday + 7) % 7;
            const quint8 nth = dow.nthWeekdays[size_t(w)];
            for (int n = 1; n <= 5; ++n) {
                if (nth & (1u << n))
                    dowBits |= quint64(1) << (first + 7 * (n - 1));
            }
            if (dow.lastWeekdays & (1u << w))
                dowBits |= quint64(1) << (first + 7 * ((dim - first) / 7));
        }
    }
    dowBits &= valid;
    if (dom.isStar)
        return quint32(dowBits);
    return quint32(domBits | dowBits);
}

// The first wall time at or after from that matches every field, searching up to the end of
// lastYear.
std::optional<qint64> CronSchedulePrivate::nextMatchingWall(qint64 from, qint64 lastYear) const
{
    const qint64 startDays = floorDiv(from, SecondsPerDay);
    const qint64 secondOfDay = from - startDays * SecondsPerDay;
    Civil civil = civilFromDays(startDays);
    qint64 year = civil.year;
    int month = civil.month;
    int day = civil.day;
    int hour = int(secondOfDay / 3600);
    int minute = int(secondOfDay / 60 % 60);
    int second = int(secondOfDay % 60);

    qint64 cachedYear = std::numeric_limits<qint64>::min();
    int cachedMonth = 0;
    quint32 days = 0;

    const auto nextMonth = [&] {
        const int m = nextBit(monthBits, month + 1);
        if (m < 0) {
            ++year;
            month = lowestBit(monthBits);
        } else {
            month = m;
        }
        day = 1;
        hour = minute = second = 0;
    };

    for (;;) {
        if (year > lastYear)
            return std::nullopt;
        if (!(monthBits & (quint64(1) << month))) {
            nextMonth();
            continue;
        }
        if (year != cachedYear || month != cachedMonth) {
            days = dayBits(year, month);
            cachedYear = year;
            cachedMonth = month;
        }
        const int d = nextBit(days, day);
        if (d < 0) {
            nextMonth();
            continue;
        }
        if (d != day) {
            day = d;
            hour = minute = second = 0;
        }
        const int h = nextBit(hourBits, hour);
        if (h < 0) {
            ++day;
            hour = minute = second = 0;
            continue;
        }
        if (h != hour) {
            hour = h;
            minute = second = 0;
        }
        const int m = nextBit(minuteBits, minute);
        if (m < 0) {
            ++hour;
            minute = second = 0;
            continue;
        }
        if (m != minute) {
            minute = m;
            second = 0;
        }
        const int s = nextBit(secondBits, second);
        if (s < 0) {
            ++minute;
            second = 0;
            continue;
        }
        return daysFromCivil(year, month, day) * SecondsPerDay + hour * 3600 + minute * 60 + s;
    }
}

int CronSchedulePrivate::offsetAt(qint64 seconds) const
{
    if (!zoneHasTransitions)
        return fixedOffset;
    if (table->covers(seconds))
        return table->offsetAt(seconds);
    return zone.offsetFromUtc(utcFromSeconds(seconds));
}

// The first instant strictly after seconds at which the offset changes.
qint64 CronSchedulePrivate::nextTransitionAfter(qint64 seconds) const
{
    if (!zoneHasTransitions)
        return NoTransition;
    if (table->covers(seconds)) {
        // Past the table's last transition, its end serves as a transition that changes
        // nothing: callers then ask again from there.
        const qint64 next = table->nextTransitionAfter(seconds);
        return next != NoTransition ? next : table->to;
    }
    const QTimeZone::OffsetData data = zone.nextTransition(utcFromSeconds(seconds));
    if (!data.atUtc.isValid())
        return NoTransition;
    const qint64 at = floorDiv(data.atUtc.toMSecsSinceEpoch(), 1000);
    return at > seconds ? at : seconds + 1;
}

// Maps a wall time to the instant it fires at under the fixed-hour rule: its only occurrence,
// its first occurrence when it occurs twice, the end of the gap when it does not occur. Time
// zone transitions are assumed to lie more than a day apart, which holds for the tz database.
CronSchedulePrivate::Mapping CronSchedulePrivate::mapWallTime(qint64 wall) const
{
    Mapping mapping;
    if (!zoneHasTransitions) {
        mapping.instant = wall - fixedOffset;
        return mapping;
    }
    const int earlyOffset = offsetAt(wall - SecondsPerDay);
    const int lateOffset = offsetAt(wall + SecondsPerDay);
    const qint64 early = wall - earlyOffset;
    if (earlyOffset == lateOffset) {
        const int actual = offsetAt(early);
        mapping.instant = actual == earlyOffset ? early : wall - actual;
        return mapping;
    }
    const qint64 late = wall - lateOffset;
    const bool earlyValid = offsetAt(early) == earlyOffset;
    const bool lateValid = offsetAt(late) == lateOffset;
    if (earlyValid && lateValid) {
        mapping.instant = std::min(early, late);
        mapping.repeated = early != late;
    } else if (earlyValid) {
        mapping.instant = early;
    } else if (lateValid) {
        mapping.instant = late;
    } else {
        // In the gap: the transition lies in (late, early].
        qint64 transition = nextTransitionAfter(std::min(early, late));
        // Skip transitions that change only the name or the daylight-saving flag.
        for (int i = 0; i < 4 && transition != NoTransition && transition < std::max(early, late) &&
                        offsetAt(transition) == std::min(earlyOffset, lateOffset);
             ++i)
            transition = nextTransitionAfter(transition);
        mapping.instant = transition == NoTransition ? std::max(early, late) : transition;
    }
    return mapping;
}

// All-hours rule: the first instant after afterSeconds whose wall-clock reading matches.
std::optional<qint64> CronSchedulePrivate::nextAllHours(qint64 afterSeconds, qint64 lastYear) const
{
    qint64 instant = afterSeconds + 1;
    // Each round either answers or moves past one transition; a schedule fires at least once
    // in 400 years, which holds fewer transitions than this bound.
    for (int round = 0; round < 4096; ++round) {
        const int offset = offsetAt(instant);
        const std::optional<qint64> wall = nextMatchingWall(instant + offset, lastYear);
        if (!wall)
            return std::nullopt;
        const qint64 candidate = *wall - offset;
        const qint64 transition = nextTransitionAfter(instant);
        if (candidate < transition)
            return candidate;
        instant = transition;
    }
    return std::nullopt;
}

// Fixed-hour rule: matching wall times in order, each mapped with mapWallTime().
std::optional<qint64> CronSchedulePrivate::nextFixedHour(qint64 afterSeconds, qint64 lastYear) const
{
    // Wall times up to the current reading of the wall clock have fired already (or lie in a
    // gap that ended before now), so the search starts just after the current reading.
    qint64 from = afterSeconds + offsetAt(afterSeconds) + 1;
    for (int round = 0; round < 4096; ++round) {
        const std::optional<qint64> wall = nextMatchingWall(from, lastYear);
        if (!wall)
            return std::nullopt;
        const Mapping mapping = mapWallTime(*wall);
        if (mapping.instant > afterSeconds)
            return mapping.instant;
        // The wall time occurs twice and its first occurrence is over: we are in the repeated
        // stretch, whose times fire only the first time. Skip to the end of the repetition.
        from = *wall + 1;
        if (mapping.repeated) {
            const qint64 transition = nextTransitionAfter(mapping.instant);
            if (transition != NoTransition)
                from = std::max(from, transition + offsetAt(transition - 1));
        }
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------

CronSchedule::CronSchedule(std::shared_ptr<const CronSchedulePrivate> dd)
    : d(std::move(dd))
{}
CronSchedule::CronSchedule(const CronSchedule &other) = default;
CronSchedule::CronSchedule(CronSchedule &&other) noexcept = default;
CronSchedule &CronSchedule::operator=(const CronSchedule &other) = default;
CronSchedule &CronSchedule::operator=(CronSchedule &&other) noexcept = default;
CronSchedule::~CronSchedule() = default;

namespace {

QString expandMacro(const QString &text, bool *known)
{
    static const std::array<std::pair<const char *, const char *>, 7> macros = {{
        {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"},
        {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"},
        {"@daily", "0 0 * * *"},
        {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    }};
    for (const auto &macro : macros) {
        if (text.compare(QLatin1String(macro.first), Qt::CaseInsensitive) == 0) {
            *known = true;
            return QLatin1String(macro.second);
        }
    }
    *known = false;
    return QString();
}

// Explains why a schedule that never fires does not: in the common case, a day of month that
// the chosen months lack.
QString neverFiresReason(const CronSchedulePrivate &p, const QString &dayOfMonthText)
{
    const FieldMask &dom = p.fields[DayOfMonth];
    if (p.fields[DayOfWeek].isStar && !dom.isStar && !dom.lastDay) {
        QStringList months;
        for (int m = 1; m <= 12; ++m) {
            if (p.monthBits & (quint64(1) << m))
                months.append(QLatin1String(monthLongNames[size_t(m)]));
        }
        QString list = months.join(QStringLiteral(", "));
        if (months.size() > 1) {
            const qsizetype comma = list.lastIndexOf(QStringLiteral(", "));
            list.replace(comma, 2, QStringLiteral(" or "));
        }
        return QStringLiteral("never fires: day of month %1 does not occur in %2")
            .arg(dayOfMonthText, list);
    }
    return QStringLiteral("never fires: no day matches both the months and the days");
}

} // namespace

Result<CronSchedule> CronSchedule::parse(const QString &expression, const QString &timeZone)
{
    QTimeZone zone;
    const QString zoneName = timeZone.trimmed();
    if (zoneName.isEmpty()) {
        zone = QTimeZone::systemTimeZone();
        if (!zone.isValid())
            zone = QTimeZone::utc();
    } else if (zoneName == QLatin1String("UTC")) {
        zone = QTimeZone::utc();
    } else {
        zone = QTimeZone(zoneName.toUtf8());
        if (!zone.isValid())
            return Result<CronSchedule>::failure(
                QStringLiteral("unknown time zone \"%1\"").arg(zoneName));
    }
    return parse(expression, zone);
}

Result<CronSchedule> CronSchedule::parse(const QString &expression, const QTimeZone &timeZone)
{
    using R = Result<CronSchedule>;
    if (!timeZone.isValid())
        return R::failure(QStringLiteral("invalid time zone"));

    auto p = std::make_shared<CronSchedulePrivate>();
    p->expression = expression.simplified();
    p->zone = timeZone;
    p->zoneHasTransitions = timeZone.hasTransitions();
    p->fixedOffset = timeZone.offsetFromUtc(QDateTime::fromMSecsSinceEpoch(0, Qt::UTC));
    if (p->zoneHasTransitions)
        p->table = zoneTable(timeZone);

    QString text = p->expression;
    if (text.startsWith(QLatin1Char('@'))) {
        bool known = false;
        const QString expanded = expandMacro(text, &known);
        if (!known)
            return R::failure(QStringLiteral("unknown macro \"%1\", expected @yearly, @annually, "
                                             "@monthly, @weekly, @daily, @midnight or @hourly")
                                  .arg(text));
        text = expanded;
    }

    QStringList parts = text.split(QLatin1Char(' '), Qt::SkipEmptyParts);
    if (parts.size() != 5 && parts.size() != 6)
        return R::failure(QStringLiteral("expected 5 or 6 fields, got %1").arg(parts.size()));
    p->seconds = parts.size() == 6;
    if (!p->seconds)
        parts.prepend(QStringLiteral("0"));

    for (int field = 0; field < FieldCount; ++field) {
        FieldParser parser(field, parts.at(field));
        const QString message = parser.parse(&p->fields[size_t(field)]);
        if (!message.isEmpty())
            return R::failure(message);
    }

    p->secondBits = p->fields[Second].bits;
    p->minuteBits = p->fields[Minute].bits;
    p->hourBits = p->fields[Hour].bits;
    p->monthBits = p->fields[Month].bits;
    p->fixedHour = p->hourBits != (quint64(1) << 24) - 1;
    const FieldMask &dow = p->fields[DayOfWeek];
    p->hasWeekdaySpecials = dow.lastWeekdays != 0;
    for (quint8 nth : dow.nthWeekdays)
        p->hasWeekdaySpecials = p->hasWeekdaySpecials || nth != 0;

    // Days and weekdays repeat every 400 years: no match in one cycle means no match ever.
    const qint64 start = daysFromCivil(2000, 1, 1) * SecondsPerDay;
    if (!p->nextMatchingWall(start, 2000 + CycleYears))
        return R::failure(neverFiresReason(*p, parts.at(DayOfMonth)));

    return CronSchedule(std::move(p));
}

QString CronSchedule::expression() const
{
    return d->expression;
}

QTimeZone CronSchedule::timeZone() const
{
    return d->zone;
}

bool CronSchedule::hasSeconds() const
{
    return d->seconds;
}

bool CronSchedule::isFixedHour() const
{
    return d->fixedHour;
}

QDateTime CronSchedule::nextFireTime(const QDateTime &after) const
{
    if (!after.isValid())
        return QDateTime();
    const qint64 afterSeconds = floorDiv(after.toMSecsSinceEpoch(), 1000);
    // Wall times reach at most 14 h past UTC; one spare year covers that and the end of the
    // year in which the search starts.
    const Civil start = civilFromDays(floorDiv(afterSeconds, SecondsPerDay));
    if (start.year > MaxYear)
        return QDateTime();
    const qint64 lastYear = std::min<qint64>(MaxYear, start.year + CycleYears + 1);
    const std::optional<qint64> next = d->fixedHour ? d->nextFixedHour(afterSeconds, lastYear)
                                                    : d->nextAllHours(afterSeconds, lastYear);
    if (!next)
        return QDateTime();
    return utcFromSeconds(*next);
}

QString CronSchedule::toString() const
{
    return QStringLiteral("cron \"%1\" %2").arg(d->expression, QString::fromUtf8(d->zone.id()));
}

std::unique_ptr<Schedule> CronSchedule::clone() const
{
    return std::make_unique<CronSchedule>(*this);
}

} // namespace Warden
