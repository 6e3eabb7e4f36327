#include <warden/schedule.h>

#include <QtCore/QRegularExpression>

namespace Warden {

using namespace std::chrono;

Schedule::~Schedule() = default;

QList<QDateTime> Schedule::nextFireTimes(const QDateTime &after, int count) const
{
    QList<QDateTime> times;
    times.reserve(qMax(0, count));
    QDateTime cursor = after;
    for (int i = 0; i < count; ++i) {
        cursor = nextFireTime(cursor);
        if (!cursor.isValid())
            break;
        times.append(cursor);
    }
    return times;
}

IntervalSchedule::IntervalSchedule(milliseconds interval, milliseconds initialDelay, Mode mode)
    : m_interval(interval)
    , m_initialDelay(initialDelay)
    , m_mode(mode)
    , m_anchor(QDateTime::fromMSecsSinceEpoch(0, Qt::UTC))
{}

QDateTime IntervalSchedule::nextFireTime(const QDateTime &after) const
{
    if (!isValid())
        return QDateTime();
    const qint64 anchor = m_anchor.toMSecsSinceEpoch();
    const qint64 at = after.toMSecsSinceEpoch();
    if (at < anchor)
        return m_anchor;
    const qint64 step = m_interval.count();
    const qint64 k = (at - anchor) / step + 1;
    return QDateTime::fromMSecsSinceEpoch(anchor + k * step, Qt::UTC);
}

QString IntervalSchedule::toString() const
{
    QString text = QStringLiteral("every ") + formatDuration(m_interval);
    if (m_mode == Mode::FixedDelay)
        text += QStringLiteral(" (fixed delay)");
    return text;
}

std::unique_ptr<Schedule> IntervalSchedule::clone() const
{
    return std::make_unique<IntervalSchedule>(*this);
}

QString IntervalSchedule::formatDuration(milliseconds duration)
{
    qint64 ms = duration.count();
    if (ms == 0)
        return QStringLiteral("0s");
    QString out;
    if (ms < 0) {
        out += QLatin1Char('-');
        ms = -ms;
    }
    const struct
    {
        qint64 size;
        const char *unit;
    } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
    for (const auto &u : units) {
        if (ms >= u.size) {
            out += QString::number(ms / u.size) + QLatin1String(u.unit);
            ms %= u.size;
        }
    }
    return out;
}

bool IntervalSchedule::parseDuration(const QString &text, milliseconds *duration, QString *error)
{
    static const QRegularExpression part(QStringLiteral("(\\d+)(ms|d|h|m|s)"));
    const QString trimmed = text.trimmed();
    auto fail = [&](const QString &message) {
        if (error)
            *error = message;
        return false;
    };
    if (trimmed.isEmpty())
        return fail(QStringLiteral("empty duration; write it like 90s, 10m or 1h30m"));
    qint64 total = 0;
    int pos = 0;
    while (pos < trimmed.size()) {
        const auto match = part.match(trimmed, pos, QRegularExpression::NormalMatch,
                                      QRegularExpression::AnchorAtOffsetMatchOption);
        if (!match.hasMatch())
            return fail(QStringLiteral("\"%1\" is not a duration; write it like 250ms, 90s, 10m, "
                                       "1h30m or 2d")
                            .arg(text));
        bool ok = false;
        const qint64 n = match.captured(1).toLongLong(&ok);
        const QString unit = match.captured(2);
        const qint64 scale = unit == QLatin1String("d")   ? 86400000
                             : unit == QLatin1String("h") ? 3600000
                             : unit == QLatin1String("m") ? 60000
                             : unit == QLatin1String("s") ? 1000
                                                          : 1;
        if (!ok || n > (std::numeric_limits<qint64>::max() / 4) / scale)
            return fail(QStringLiteral("\"%1\" is too long a duration").arg(text));
        total += n * scale;
        pos = match.capturedEnd();
    }
    if (total <= 0)
        return fail(QStringLiteral("\"%1\": a duration must be greater than zero").arg(text));
    *duration = milliseconds(total);
    return true;
}

} // namespace Warden
