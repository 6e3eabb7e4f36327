#include <warden/global.h>

#include <QtCore/QMetaEnum>
#include <QtCore/QString>

namespace Warden {

namespace {

// Lower-case, dash-separated names of an enum's keys: "TimedOut" -> "timed-out".
template<typename Enum> QString enumName(Enum value)
{
    const char *key = QMetaEnum::fromType<Enum>().valueToKey(static_cast<int>(value));
    if (!key)
        return QString();
    QString out;
    for (const char *c = key; *c; ++c) {
        const QChar ch = QLatin1Char(*c);
        if (ch.isUpper() && c != key)
            out += QLatin1Char('-');
        out += ch.toLower();
    }
    return out;
}

template<typename Enum> bool enumFromName(const QString &text, Enum *value)
{
    const QMetaEnum meta = QMetaEnum::fromType<Enum>();
    for (int i = 0; i < meta.keyCount(); ++i) {
        const auto candidate = static_cast<Enum>(meta.value(i));
        if (enumName(candidate).compare(text, Qt::CaseInsensitive) == 0 ||
            QString::fromLatin1(meta.key(i)).compare(text, Qt::CaseInsensitive) == 0) {
            *value = candidate;
            return true;
        }
    }
    return false;
}

} // namespace

QString toKeyword(WorkerState state)
{
    return enumName(state);
}
QString toKeyword(RunOutcome outcome)
{
    return enumName(outcome);
}
bool isFailure(RunOutcome outcome)
{
    switch (outcome) {
    case RunOutcome::Failed:
    case RunOutcome::TimedOut:
    case RunOutcome::Abandoned:
    case RunOutcome::Lost:
        return true;
    case RunOutcome::Succeeded:
    case RunOutcome::Cancelled:
    case RunOutcome::Skipped:
    case RunOutcome::Missed:
    case RunOutcome::Running:
        return false;
    }
    return false;
}

QStringList failureKeywords()
{
    QStringList out;
    const QMetaEnum meta = QMetaEnum::fromType<RunOutcome>();
    for (int i = 0; i < meta.keyCount(); ++i) {
        const auto outcome = static_cast<RunOutcome>(meta.value(i));
        if (isFailure(outcome))
            out.append(toKeyword(outcome));
    }
    return out;
}

QString toKeyword(RunTrigger trigger)
{
    return enumName(trigger);
}
QString toKeyword(LockMode mode)
{
    return enumName(mode);
}
QString toKeyword(MisfirePolicy policy)
{
    return enumName(policy);
}
QString toKeyword(StopReason reason)
{
    return enumName(reason);
}

bool fromKeyword(const QString &text, WorkerState *state)
{
    return enumFromName(text, state);
}
bool fromKeyword(const QString &text, RunOutcome *outcome)
{
    return enumFromName(text, outcome);
}
bool fromKeyword(const QString &text, RunTrigger *trigger)
{
    return enumFromName(text, trigger);
}
bool fromKeyword(const QString &text, LockMode *mode)
{
    return enumFromName(text, mode);
}
bool fromKeyword(const QString &text, MisfirePolicy *policy)
{
    return enumFromName(text, policy);
}

int severity(QtMsgType type)
{
    switch (type) {
    case QtDebugMsg:
        return 0;
    case QtInfoMsg:
        return 1;
    case QtWarningMsg:
        return 2;
    case QtCriticalMsg:
        return 3;
    case QtFatalMsg:
        return 4;
    }
    return 1;
}

QtMsgType messageTypeFromSeverity(int value)
{
    switch (value) {
    case 0:
        return QtDebugMsg;
    case 2:
        return QtWarningMsg;
    case 3:
        return QtCriticalMsg;
    case 4:
        return QtFatalMsg;
    default:
        return QtInfoMsg;
    }
}

QString version()
{
    return QStringLiteral(WARDEN_VERSION_STRING);
}

} // namespace Warden
