#pragma once

#include <QtCore/QDateTime>
#include <QtWidgets/QDialog>

QT_BEGIN_NAMESPACE
class QCheckBox;
class QComboBox;
class QDateTimeEdit;
class QLabel;
class QLineEdit;
QT_END_NAMESPACE

namespace Warden::Console {

/*!
    Asks for a store: an SQLite file (with a file picker) or a PostgreSQL URL with a password
    that stays in memory. Offers the recent connections (never with a password).
*/
class ConnectDialog final : public QDialog
{
    Q_OBJECT
public:
    explicit ConnectDialog(const QStringList &recent, QWidget *parent = nullptr);

    QString url() const;
    QString password() const;
    void setUrl(const QString &url);

    //! \a url without a password in it, fit for the recent list.
    static QString withoutPassword(const QString &url);
    static bool isPostgreSql(const QString &url);

private:
    void browse();
    void updateFields();

    QComboBox *m_url = nullptr;
    QLineEdit *m_password = nullptr;
    QLabel *m_passwordLabel = nullptr;
};

//! Disables or pauses a worker: a reason and, for a pause, the time it ends.
class DisableDialog final : public QDialog
{
    Q_OBJECT
public:
    enum class Mode { Disable, Pause };
    DisableDialog(const QString &worker, Mode mode, QWidget *parent = nullptr);

    QString worker() const { return m_worker; }
    QString reason() const;
    //! Invalid for a plain disable.
    QDateTime until() const;

private:
    QString m_worker;
    QLineEdit *m_reason = nullptr;
    QCheckBox *m_pause = nullptr;
    QDateTimeEdit *m_until = nullptr;
};

} // namespace Warden::Console
