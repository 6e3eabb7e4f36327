#include "dialogs.h"

#include <QtCore/QUrl>
#include <QtWidgets/QCheckBox>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QDateTimeEdit>
#include <QtWidgets/QDialogButtonBox>
#include <QtWidgets/QFileDialog>
#include <QtWidgets/QFormLayout>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QLabel>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QVBoxLayout>

namespace Warden::Console {

ConnectDialog::ConnectDialog(const QStringList &recent, QWidget *parent)
    : QDialog(parent)
{
    setWindowTitle(tr("Open a Warden store"));
    auto *form = new QFormLayout;
    m_url = new QComboBox;
    m_url->setEditable(true);
    m_url->addItems(recent);
    m_url->setMinimumContentsLength(48);
    m_url->lineEdit()->setPlaceholderText(
        tr("sqlite:///var/lib/warden/warden.db or postgresql://user@host/db"));
    auto *browse = new QPushButton(tr("&SQLite file…"));
    auto *urlRow = new QHBoxLayout;
    urlRow->addWidget(m_url, 1);
    urlRow->addWidget(browse);
    form->addRow(tr("&Database URL:"), urlRow);
    m_password = new QLineEdit;
    m_password->setEchoMode(QLineEdit::Password);
    m_password->setPlaceholderText(tr("empty: WARDEN_DB_PASSWORD, PGPASSFILE or ~/.pgpass"));
    m_passwordLabel = new QLabel(tr("&Password:"));
    m_passwordLabel->setBuddy(m_password);
    form->addRow(m_passwordLabel, m_password);
    auto *note = new QLabel(tr("The password is kept in memory only, never saved."));
    note->setEnabled(false);
    form->addRow(QString(), note);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Open | QDialogButtonBox::Cancel);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(browse, &QPushButton::clicked, this, &ConnectDialog::browse);
    connect(m_url, &QComboBox::currentTextChanged, this, &ConnectDialog::updateFields);
    updateFields();
}

QString ConnectDialog::url() const
{
    return m_url->currentText().trimmed();
}

QString ConnectDialog::password() const
{
    return isPostgreSql(url()) ? m_password->text() : QString();
}

void ConnectDialog::setUrl(const QString &url)
{
    m_url->setCurrentText(url);
}

bool ConnectDialog::isPostgreSql(const QString &url)
{
    return url.startsWith(QLatin1String("postgres"), Qt::CaseInsensitive);
}

QString ConnectDialog::withoutPassword(const QString &url)
{
    if (!isPostgreSql(url))
        return url;
    QUrl parsed(url);
    if (parsed.password().isEmpty())
        return url;
    parsed.setPassword(QString());
    return parsed.toString();
}

void ConnectDialog::browse()
{
    auto *picker = new QFileDialog(this, tr("Open an SQLite store"), QString(),
                                   tr("SQLite databases (*.db *.sqlite *.sqlite3);;All files (*)"));
    picker->setAttribute(Qt::WA_DeleteOnClose);
    picker->setFileMode(QFileDialog::ExistingFile);
    connect(picker, &QFileDialog::fileSelected, this, [this](const QString &file) {
        m_url->setCurrentText(QStringLiteral("sqlite://") + file);
    });
    picker->open();
}

void ConnectDialog::updateFields()
{
    const bool pg = isPostgreSql(url());
    m_password->setEnabled(pg);
    m_passwordLabel->setEnabled(pg);
}

DisableDialog::DisableDialog(const QString &worker, Mode mode, QWidget *parent)
    : QDialog(parent)
    , m_worker(worker)
{
    setWindowTitle(mode == Mode::Pause ? tr("Pause %1").arg(worker) : tr("Disable %1").arg(worker));
    auto *form = new QFormLayout;
    m_reason = new QLineEdit;
    m_reason->setPlaceholderText(tr("why (recorded in the audit trail)"));
    form->addRow(tr("&Reason:"), m_reason);
    m_pause = new QCheckBox(tr("&Pause until"));
    m_until = new QDateTimeEdit(QDateTime::currentDateTime().addSecs(3600));
    m_until->setCalendarPopup(true);
    m_until->setDisplayFormat(QStringLiteral("yyyy-MM-dd HH:mm"));
    m_until->setMinimumDateTime(QDateTime::currentDateTime());
    auto *untilRow = new QHBoxLayout;
    untilRow->addWidget(m_until, 1);
    for (const auto &preset :
         {std::pair<int, QString>{15 * 60, tr("15 min")}, std::pair<int, QString>{3600, tr("1 h")},
          std::pair<int, QString>{24 * 3600, tr("1 day")}}) {
        auto *button = new QPushButton(preset.second);
        const int seconds = preset.first;
        connect(button, &QPushButton::clicked, this, [this, seconds] {
            m_pause->setChecked(true);
            m_until->setDateTime(QDateTime::currentDateTime().addSecs(seconds));
        });
        untilRow->addWidget(button);
    }
    form->addRow(m_pause, untilRow);
    auto *note = new QLabel(tr("A pause ends by itself; a disabled worker stays off until it is "
                               "enabled. Every node applies the change within a second."));
    note->setWordWrap(true);
    note->setEnabled(false);
    form->addRow(note);
    m_pause->setChecked(mode == Mode::Pause);
    m_until->setEnabled(mode == Mode::Pause);
    connect(m_pause, &QCheckBox::toggled, m_until, &QWidget::setEnabled);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    buttons->button(QDialogButtonBox::Ok)
        ->setText(mode == Mode::Pause ? tr("&Pause") : tr("&Disable"));
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
}

QString DisableDialog::reason() const
{
    return m_reason->text().trimmed();
}

QDateTime DisableDialog::until() const
{
    return m_pause->isChecked() ? m_until->dateTime().toUTC() : QDateTime();
}

} // namespace Warden::Console
