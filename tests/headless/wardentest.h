#pragma once

// Shared by the headless tests: run the real `warden` binary (WARDEN_BINARY) with QProcess,
// write configs, and read a node's database through Warden::Sql.

#include <warden/lockmanager.h>
#include <warden/sql/database.h>
#include <warden/sql/sqllockmanager.h>
#include <warden/sql/sqlstore.h>
#include <warden/store.h>

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtTest/QTest>

#include <csignal>
#include <memory>
#include <optional>

namespace WardenTest {

struct Output
{
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
    QJsonDocument json() const { return QJsonDocument::fromJson(out); }
};

inline QString binary()
{
    return QStringLiteral(WARDEN_BINARY);
}

//! Runs warden to its end (at most \a timeoutMs) and returns its exit code and output.
inline Output run(const QStringList &arguments, const QByteArray &input = QByteArray(),
                  int timeoutMs = 30000)
{
    QProcess process;
    process.start(binary(), arguments);
    Output result;
    if (!process.waitForStarted(10000))
        return result;
    if (!input.isEmpty())
        process.write(input);
    process.closeWriteChannel();
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished();
    }
    result.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    result.out = process.readAllStandardOutput();
    result.err = process.readAllStandardError();
    return result;
}

inline void writeFile(const QString &path, const QByteArray &content)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    file.write(content);
}

inline QByteArray readFile(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

/*!
    A `warden run` process in the background; stderr is collected so that tests can wait
    for log lines. The destructor kills what still runs.
*/
class Node
{
public:
    explicit Node(const QStringList &arguments,
                  const QProcessEnvironment &environment = QProcessEnvironment::systemEnvironment())
    {
        m_process.setProcessEnvironment(environment);
        m_process.setProcessChannelMode(QProcess::SeparateChannels);
        m_process.start(binary(), QStringList{QStringLiteral("run")} + arguments);
    }
    ~Node()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished(5000);
        }
    }
    QProcess &process() { return m_process; }
    qint64 pid() const { return m_process.processId(); }
    void signal(int s) { ::kill(pid_t(m_process.processId()), s); }
    //! Everything written to stderr so far.
    const QByteArray &log()
    {
        m_log += m_process.readAllStandardError();
        return m_log;
    }
    bool waitForLog(const QByteArray &text, int timeoutMs = 15000)
    {
        QElapsedTimer timer;
        timer.start();
        while (!log().contains(text)) {
            if (timer.elapsed() > timeoutMs || m_process.state() == QProcess::NotRunning)
                return log().contains(text);
            m_process.waitForReadyRead(100);
        }
        return true;
    }
    bool waitForExit(int timeoutMs)
    {
        const bool done = m_process.waitForFinished(timeoutMs);
        log();
        return done;
    }

private:
    QProcess m_process;
    QByteArray m_log;
};

//! Opens a node's database for inspection (the schema must exist).
inline std::optional<Warden::Database> openDatabase(const QString &url)
{
    Warden::DatabaseOptions options;
    options.isMigrating = false;
    auto db = Warden::Database::open(url, options);
    if (!db.isOk()) {
        qWarning("cannot open %s: %s", qPrintable(url), qPrintable(db.errorString()));
        return std::nullopt;
    }
    return db.value();
}

inline QList<Warden::RunRecord> runs(Warden::Database &db, const QString &worker)
{
    Warden::RunQuery query;
    query.worker = worker;
    query.limit = 10000;
    const auto result = db.store()->runs(query);
    return result.isOk() ? result.value() : QList<Warden::RunRecord>();
}

//! The runs of \a worker that have ended (the ledger also holds the ones still running).
inline QList<Warden::RunRecord> finishedRuns(Warden::Database &db, const QString &worker)
{
    QList<Warden::RunRecord> out = runs(db, worker);
    out.removeIf(
        [](const Warden::RunRecord &r) { return r.outcome == Warden::RunOutcome::Running; });
    return out;
}

inline bool processExists(qint64 pid)
{
    // A zombie counts as gone: it runs no more code.
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return false;
    const QByteArray text = stat.readAll();
    const qsizetype close = text.lastIndexOf(')');
    return close > 0 && close + 2 < text.size() && text.at(close + 2) != 'Z';
}

} // namespace WardenTest
