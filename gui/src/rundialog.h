#pragma once

#include "consoletypes.h"

#include <QtWidgets/QDialog>

QT_BEGIN_NAMESPACE
class QLabel;
class QPlainTextEdit;
QT_END_NAMESPACE

namespace Warden::Console {

/*!
    One run, as `warden runs show` prints it: every field of its record, its error, and its
    own log lines. Opened from the run history (double-click or Enter); it shows what the
    query thread read and never reads the store itself.
*/
class RunDialog final : public QDialog
{
    Q_OBJECT
public:
    explicit RunDialog(const RunDetails &details, QWidget *parent = nullptr);

    QString runId() const { return m_runId; }
    //! The log lines as shown (for tests and for copying).
    QString logText() const;

private:
    QString m_runId;
    QPlainTextEdit *m_log = nullptr;
};

} // namespace Warden::Console
