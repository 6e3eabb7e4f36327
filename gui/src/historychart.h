#pragma once

#include <warden/records.h>

#include <QtWidgets/QWidget>

namespace Warden::Console {

/*!
    The durations and outcomes of a worker's runs over time, painted by hand: one mark per
    run at (start, duration), its shape and colour by outcome (a circle for success, a cross
    for failure, a diamond for a timeout, a square for cancelled, a triangle for skipped and
    abandoned), so the chart reads in greyscale too.
*/
class HistoryChart final : public QWidget
{
    Q_OBJECT
public:
    explicit HistoryChart(QWidget *parent = nullptr);

    void setRuns(const QString &worker, const QList<RunRecord> &runs);
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent *event) override;

private:
    QString m_worker;
    QList<RunRecord> m_runs;
};

} // namespace Warden::Console
