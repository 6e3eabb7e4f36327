// libFuzzer target for CronSchedule: parses arbitrary text in a time zone picked by the input
// and, when it parses, walks a few fire times and checks their invariants.
//
// Input layout: byte 0 picks the time zone, bytes 1-4 pick the start instant, the rest is
// the expression (UTF-8).

#include <warden/cronschedule.h>

#include <QtCore/QDateTime>
#include <QtCore/QString>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

const char *const zones[] = {
    "UTC",          "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Australia/Sydney",
    "Asia/Kolkata", "Pacific/Apia",  "America/Santiago", "Not/AZone",           "",
};

[[noreturn]] void fail(const char *what, const QString &expression, const QDateTime &at)
{
    std::fprintf(stderr, "invariant broken: %s for \"%s\" at %s\n", what,
                 expression.toUtf8().constData(), at.toString(Qt::ISODate).toUtf8().constData());
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    const char *zone = zones[data[0] % (sizeof(zones) / sizeof(zones[0]))];
    const uint32_t startBits = uint32_t(data[1]) | uint32_t(data[2]) << 8 |
                               uint32_t(data[3]) << 16 | uint32_t(data[4]) << 24;
    // Start instants from 1900 to about 2580, at odd seconds and milliseconds.
    const qint64 startMs =
        (qint64(startBits) * 4999 - qint64(2208988800) * 1000) + startBits % 1000;
    const QString expression =
        QString::fromUtf8(reinterpret_cast<const char *>(data + 5), qsizetype(size - 5));

    const auto parsed = Warden::CronSchedule::parse(expression, QString::fromLatin1(zone));
    if (!parsed) {
        if (parsed.errorString().isEmpty())
            fail("empty error text", expression, QDateTime());
        return 0;
    }
    const Warden::CronSchedule &schedule = parsed.value();
    if (schedule.toString().isEmpty())
        fail("empty toString()", expression, QDateTime());

    QDateTime cursor = QDateTime::fromMSecsSinceEpoch(startMs, Qt::UTC);
    for (int i = 0; i < 6; ++i) {
        const QDateTime next = schedule.nextFireTime(cursor);
        if (!next.isValid()) {
            // Every accepted schedule fires within 400 years; only the year-9999 limit ends it.
            if (cursor.date().year() < 9000)
                fail("no next fire time", expression, cursor);
            break;
        }
        if (next <= cursor)
            fail("next fire time not after the previous one", expression, cursor);
        if (next.toMSecsSinceEpoch() % 1000 != 0)
            fail("fire time not on a whole second", expression, next);
        if (cursor.daysTo(next) > 366 * 401)
            fail("gap longer than a Gregorian cycle", expression, cursor);
        cursor = next;
    }
    return 0;
}
