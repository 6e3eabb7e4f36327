#include "historychart.h"

#include "rowbuilder.h"

#include <QtGui/QPainter>
#include <QtGui/QPainterPath>

#include <algorithm>
#include <cmath>

namespace Warden::Console {

namespace {

QColor outcomeColor(RunOutcome outcome)
{
    switch (outcome) {
    case RunOutcome::Succeeded:
        return QColor(0x1e, 0x8e, 0x3e);
    case RunOutcome::Failed:
        return QColor(0xd9, 0x30, 0x25);
    case RunOutcome::TimedOut:
        return QColor(0xb0, 0x60, 0x00);
    case RunOutcome::Cancelled:
        return QColor(0x5f, 0x63, 0x68);
    case RunOutcome::Skipped:
        return QColor(0x1a, 0x73, 0xe8);
    case RunOutcome::Abandoned:
        return QColor(0x8c, 0x1d, 0x18);
    case RunOutcome::Missed:
        return QColor(0x9a, 0xa0, 0xa6);
    case RunOutcome::Lost:
        return QColor(0x6a, 0x1b, 0x9a);
    case RunOutcome::Running:
        return QColor(0x1a, 0x73, 0xe8);
    }
    return Qt::black;
}

void drawMark(QPainter &p, const QPointF &c, RunOutcome outcome)
{
    const qreal r = 3.5;
    const QColor color = outcomeColor(outcome);
    p.setPen(QPen(color.darker(130), 1.2));
    p.setBrush(color);
    switch (outcome) {
    case RunOutcome::Succeeded:
        p.drawEllipse(c, r, r);
        break;
    case RunOutcome::Failed:
        p.setPen(QPen(color, 2.2));
        p.drawLine(c + QPointF(-r, -r), c + QPointF(r, r));
        p.drawLine(c + QPointF(-r, r), c + QPointF(r, -r));
        break;
    case RunOutcome::TimedOut: {
        QPainterPath diamond;
        diamond.moveTo(c + QPointF(0, -r - 1));
        diamond.lineTo(c + QPointF(r + 1, 0));
        diamond.lineTo(c + QPointF(0, r + 1));
        diamond.lineTo(c + QPointF(-r - 1, 0));
        diamond.closeSubpath();
        p.drawPath(diamond);
        break;
    }
    case RunOutcome::Cancelled:
        p.drawRect(QRectF(c - QPointF(r, r), QSizeF(2 * r, 2 * r)));
        break;
    case RunOutcome::Skipped:
    case RunOutcome::Missed:
    case RunOutcome::Lost:
    case RunOutcome::Running:
    case RunOutcome::Abandoned: {
        QPainterPath triangle;
        triangle.moveTo(c + QPointF(0, -r - 1));
        triangle.lineTo(c + QPointF(r + 1, r));
        triangle.lineTo(c + QPointF(-r - 1, r));
        triangle.closeSubpath();
        p.drawPath(triangle);
        break;
    }
    }
}

} // namespace

HistoryChart::HistoryChart(QWidget *parent)
    : QWidget(parent)
{
    setAccessibleName(tr("Run history chart"));
    setBackgroundRole(QPalette::Base);
    setAutoFillBackground(true);
}

QSize HistoryChart::sizeHint() const
{
    return {480, 220};
}

QSize HistoryChart::minimumSizeHint() const
{
    return {200, 120};
}

void HistoryChart::setRuns(const QString &worker, const QList<RunRecord> &runs)
{
    m_worker = worker;
    m_runs = runs;
    update();
}

void HistoryChart::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QRectF area = QRectF(rect()).adjusted(58, 24, -12, -36);
    const QPalette pal = palette();
    p.setPen(pal.color(QPalette::Text));
    QFont titleFont = font();
    titleFont.setBold(true);
    p.setFont(titleFont);
    p.drawText(QRectF(8, 2, width() - 16, 20), Qt::AlignLeft | Qt::AlignVCenter,
               m_worker.isEmpty() ? tr("Select a worker to see its runs")
                                  : tr("Runs of %1: duration over time").arg(m_worker));
    p.setFont(font());
    if (m_runs.isEmpty() || area.width() < 10 || area.height() < 10) {
        if (!m_worker.isEmpty())
            p.drawText(area, Qt::AlignCenter, tr("No runs recorded yet."));
        return;
    }
    qint64 t0 = std::numeric_limits<qint64>::max(), t1 = 0, maxDuration = 1;
    for (const RunRecord &run : m_runs) {
        const qint64 t = run.startedAt.toMSecsSinceEpoch();
        t0 = std::min(t0, t);
        t1 = std::max(t1, t);
        maxDuration = std::max(maxDuration, run.durationMs());
    }
    if (t1 == t0)
        t1 = t0 + 1000;
    // A round upper bound for the duration axis.
    const double magnitude = std::pow(10.0, std::floor(std::log10(double(maxDuration))));
    double top = magnitude;
    for (double step : {1.0, 2.0, 5.0, 10.0}) {
        top = step * magnitude;
        if (top >= double(maxDuration))
            break;
    }
    auto xOf = [&](qint64 t) {
        return area.left() + area.width() * double(t - t0) / double(t1 - t0);
    };
    auto yOf = [&](qint64 d) { return area.bottom() - area.height() * double(d) / top; };

    QColor grid = pal.color(QPalette::Mid);
    grid.setAlpha(90);
    for (int i = 0; i <= 4; ++i) {
        const qint64 d = qint64(top * i / 4);
        const qreal y = yOf(d);
        p.setPen(QPen(grid, 1, i == 0 ? Qt::SolidLine : Qt::DotLine));
        p.drawLine(QPointF(area.left(), y), QPointF(area.right(), y));
        p.setPen(pal.color(QPalette::Text));
        p.drawText(QRectF(0, y - 8, area.left() - 6, 16), Qt::AlignRight | Qt::AlignVCenter,
                   RowBuilder::formatDuration(d));
    }
    const QDateTime now = QDateTime::currentDateTimeUtc();
    for (int i = 0; i <= 3; ++i) {
        const qint64 t = t0 + (t1 - t0) * i / 3;
        const qreal x = xOf(t);
        p.setPen(QPen(grid, 1, Qt::DotLine));
        p.drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()));
        p.setPen(pal.color(QPalette::Text));
        const Qt::Alignment align =
            i == 0 ? Qt::AlignLeft : (i == 3 ? Qt::AlignRight : Qt::AlignHCenter);
        const qreal left = i == 0 ? x : (i == 3 ? x - 120 : x - 60);
        p.drawText(QRectF(left, area.bottom() + 4, 120, 16), align | Qt::AlignTop,
                   RowBuilder::formatTime(QDateTime::fromMSecsSinceEpoch(t, Qt::UTC), now));
    }
    // A line through the durations, oldest to newest, then the marks.
    QList<const RunRecord *> ordered;
    for (const RunRecord &run : m_runs) {
        if (run.durationMs() >= 0) // a run still going has no duration yet
            ordered.append(&run);
    }
    std::sort(ordered.begin(), ordered.end(),
              [](const RunRecord *a, const RunRecord *b) { return a->startedAt < b->startedAt; });
    QPainterPath line;
    for (int i = 0; i < ordered.size(); ++i) {
        const QPointF point(xOf(ordered[i]->startedAt.toMSecsSinceEpoch()),
                            yOf(ordered[i]->durationMs()));
        if (i == 0)
            line.moveTo(point);
        else
            line.lineTo(point);
    }
    QColor lineColor = pal.color(QPalette::Highlight);
    lineColor.setAlpha(110);
    p.setPen(QPen(lineColor, 1.2));
    p.setBrush(Qt::NoBrush);
    p.drawPath(line);
    for (const RunRecord *run : ordered)
        drawMark(p, QPointF(xOf(run->startedAt.toMSecsSinceEpoch()), yOf(run->durationMs())),
                 run->outcome);

    // Legend.
    qreal x = area.left();
    const qreal y = height() - 10;
    for (RunOutcome outcome : {RunOutcome::Succeeded, RunOutcome::Failed, RunOutcome::TimedOut,
                               RunOutcome::Cancelled, RunOutcome::Skipped}) {
        drawMark(p, QPointF(x + 4, y - 4), outcome);
        p.setPen(pal.color(QPalette::Text));
        const QString label = toKeyword(outcome);
        p.drawText(QPointF(x + 12, y), label);
        x += 20 + p.fontMetrics().horizontalAdvance(label);
    }
}

} // namespace Warden::Console
