#include "rundialog.h"

#include "icons.h"
#include "logmodel.h"
#include "rowbuilder.h"

#include <QtGui/QClipboard>
#include <QtGui/QFontDatabase>
#include <QtGui/QGuiApplication>
#include <QtWidgets/QDialogButtonBox>
#include <QtWidgets/QFormLayout>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QLabel>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QVBoxLayout>

namespace Warden::Console {

namespace {

QString when(const QDateTime &time)
{
    return time.isValid() ? time.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz"))
                          : QStringLiteral("–");
}

QLabel *selectable(const QString &text)
{
    auto *label = new QLabel(text);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->setWordWrap(true);
    return label;
}

} // namespace

RunDialog::RunDialog(const RunDetails &details, QWidget *parent)
    : QDialog(parent)
    , m_runId(details.runId)
{
    setWindowTitle(details.isFound ? tr("Run of %1 on %2").arg(details.run.worker, details.run.node)
                                   : tr("Run %1").arg(details.runId));
    auto *layout = new QVBoxLayout(this);
    if (!details.isFound) {
        layout->addWidget(selectable(
            details.error.isEmpty()
                ? tr("No run with id %1: retention may have trimmed it.").arg(details.runId)
                : tr("Cannot read run %1: %2").arg(details.runId, details.error)));
    } else {
        const RunRecord &run = details.run;
        auto *form = new QFormLayout;
        auto *outcome = new QWidget;
        auto *outcomeRow = new QHBoxLayout(outcome);
        outcomeRow->setContentsMargins(0, 0, 0, 0);
        auto *icon = new QLabel;
        icon->setPixmap(Icons::icon(RowBuilder::outcomeIcon(run.outcome)).pixmap(16, 16));
        outcomeRow->addWidget(icon);
        outcomeRow->addWidget(selectable(toKeyword(run.outcome)), 1);
        form->addRow(tr("Outcome:"), outcome);
        form->addRow(tr("Worker:"), selectable(run.worker));
        form->addRow(tr("Node:"), selectable(run.node));
        form->addRow(tr("Run id:"), selectable(run.runId));
        form->addRow(tr("Trigger:"), selectable(RowBuilder::triggerText(run.trigger)));
        form->addRow(tr("Scheduled:"), selectable(when(run.scheduledAt)));
        form->addRow(tr("Started:"), selectable(when(run.startedAt)));
        form->addRow(tr("Finished:"), selectable(when(run.finishedAt)));
        form->addRow(tr("Duration:"), selectable(run.durationMs() < 0 ? tr("still running")
                                                                      : RowBuilder::formatDuration(
                                                                            run.durationMs())));
        form->addRow(tr("Late by:"),
                     selectable(run.isManual() ? QStringLiteral("–")
                                               : RowBuilder::formatDuration(
                                                     qMax<qint64>(0, run.latenessMs()))));
        form->addRow(tr("Fencing token:"),
                     selectable(run.fencingToken > 0 ? QString::number(run.fencingToken)
                                                     : tr("none (no lease)")));
        form->addRow(tr("Error:"),
                     selectable(run.error.isEmpty() ? QStringLiteral("–") : run.error));
        layout->addLayout(form);
        layout->addWidget(new QLabel(
            details.log.size() == 1 ? tr("Log of this run (1 line):")
                                    : tr("Log of this run (%1 lines):").arg(details.log.size())));
        m_log = new QPlainTextEdit;
        m_log->setReadOnly(true);
        m_log->setLineWrapMode(QPlainTextEdit::NoWrap);
        m_log->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
        QStringList lines;
        for (const StoredLogLine &line : details.log)
            lines.append(
                QStringLiteral("%1  %2  %3")
                    .arg(line.line.time.toLocalTime().toString(QStringLiteral("HH:mm:ss.zzz")),
                         LogModel::levelName(line.line.level).leftJustified(8), line.line.message));
        m_log->setPlainText(lines.isEmpty() ? tr("(no log lines)") : lines.join(QLatin1Char('\n')));
        layout->addWidget(m_log, 1);
        if (!details.error.isEmpty())
            layout->addWidget(selectable(tr("The log could not be read: %1").arg(details.error)));
    }
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    auto *copy = buttons->addButton(tr("Copy run id"), QDialogButtonBox::ActionRole);
    connect(copy, &QPushButton::clicked, this,
            [id = details.runId] { QGuiApplication::clipboard()->setText(id); });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    resize(720, 520);
}

QString RunDialog::logText() const
{
    return m_log ? m_log->toPlainText() : QString();
}

} // namespace Warden::Console
