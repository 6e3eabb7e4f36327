#pragma once

// Checks the interval file that the test nodes write (see testnode.cpp): for every lock, no
// two work intervals overlap and fencing tokens strictly increase in the order the
// intervals started.
//
// An interval starts at its S line, written before the work begins, and ends at its E line.
// A holder killed with SIGKILL writes no E line: its interval then lasts until the moment
// the test saw the process dead (taken after waiting for it, so never earlier than the real
// death). Its lease lives on until it expires, so nobody may start before that moment; a
// start without an end and without a kill lasts for ever.

#include <QtCore/QFile>
#include <QtCore/QHash>
#include <QtCore/QMap>
#include <QtCore/QStringList>

#include <algorithm>
#include <limits>

namespace IntervalCheck {

struct Interval
{
    QString lock;
    qint64 token = 0;
    QString node;
    qint64 start = 0;
    qint64 end = std::numeric_limits<qint64>::max();
    bool killed = false;
    QString runId; //!< the run's id, when the line has it
};

struct Report
{
    QMap<QString, QList<Interval>> byLock; // sorted by start
    int intervals = 0;
    int killedIntervals = 0;
    int overlaps = 0;
    int tokenViolations = 0;
    QStringList problems;
};

//! \a kills: node id -> the monotonic microseconds at which each of its processes was seen dead.
inline Report check(const QString &path, const QHash<QString, QList<qint64>> &kills)
{
    Report report;
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        report.problems << QStringLiteral("cannot read %1").arg(path);
        return report;
    }
    // (lock, token, node) -> interval; a holder keeps one interval per token.
    QHash<QString, Interval> open;
    QList<Interval> done;
    const QList<QByteArray> lines = file.readAll().split('\n');
    for (const QByteArray &raw : lines) {
        const QList<QByteArray> f = raw.trimmed().split(' ');
        if (f.size() < 5)
            continue;
        const QString lock = QString::fromUtf8(f[1]);
        const qint64 token = f[2].toLongLong();
        const QString node = QString::fromUtf8(f[3]);
        const qint64 time = f[4].toLongLong();
        const QString key =
            lock + QLatin1Char('/') + QString::number(token) + QLatin1Char('/') + node;
        if (f[0] == "S") {
            if (open.contains(key)) {
                report.problems << QStringLiteral("second start without end: %1").arg(key);
                ++report.tokenViolations;
            }
            Interval interval;
            interval.lock = lock;
            interval.token = token;
            interval.node = node;
            interval.start = time;
            if (f.size() > 5)
                interval.runId = QString::fromUtf8(f[5]);
            open.insert(key, interval);
        } else if (f[0] == "E") {
            auto it = open.find(key);
            if (it == open.end()) {
                report.problems << QStringLiteral("end without start: %1").arg(key);
                continue;
            }
            it->end = time;
            done.append(*it);
            open.erase(it);
        }
    }
    for (Interval interval : std::as_const(open)) {
        // A holder that died mid-run: its interval ends when it was seen dead.
        for (qint64 kill : kills.value(interval.node)) {
            if (kill >= interval.start) {
                interval.end = kill;
                interval.killed = true;
                break;
            }
        }
        if (interval.killed)
            ++report.killedIntervals;
        done.append(interval);
    }
    for (const Interval &interval : std::as_const(done))
        report.byLock[interval.lock].append(interval);
    for (auto it = report.byLock.begin(); it != report.byLock.end(); ++it) {
        QList<Interval> &list = it.value();
        std::sort(list.begin(), list.end(),
                  [](const Interval &a, const Interval &b) { return a.start < b.start; });
        qint64 maxEnd = std::numeric_limits<qint64>::min();
        qint64 lastToken = 0;
        QString lastDescription;
        for (const Interval &interval : std::as_const(list)) {
            ++report.intervals;
            const QString description =
                QStringLiteral("%1 token %2 on %3 [%4, %5]%6")
                    .arg(interval.lock)
                    .arg(interval.token)
                    .arg(interval.node)
                    .arg(interval.start)
                    .arg(interval.end)
                    .arg(interval.killed ? QStringLiteral(" killed") : QString());
            if (interval.start < maxEnd) {
                ++report.overlaps;
                report.problems << QStringLiteral("overlap: %1 starts before %2 ended")
                                       .arg(description, lastDescription);
            }
            if (interval.token <= lastToken) {
                ++report.tokenViolations;
                report.problems << QStringLiteral("token did not grow: %1 after %2")
                                       .arg(description, lastDescription);
            }
            if (interval.end > maxEnd) {
                maxEnd = interval.end;
                lastDescription = description;
            }
            lastToken = std::max(lastToken, interval.token);
        }
    }
    return report;
}

} // namespace IntervalCheck
