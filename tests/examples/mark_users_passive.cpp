// The README's example: a periodic worker that marks users passive who have not logged in
// for 30 days. The test suite builds this file, and checks that the README shows it as is.
#include <warden/host.h>
#include <warden/periodicworker.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QThread>
#include <QtSql/QSqlDatabase>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>

class MarkUsersPassive final : public Warden::PeriodicWorker
{
public:
    explicit MarkUsersPassive(QString databaseFile)
        : PeriodicWorker(QStringLiteral("mark-users-passive"))
        , m_databaseFile(std::move(databaseFile))
    {
        setInterval(std::chrono::minutes(10));
        setLock(Warden::LockMode::PerRun); // one node per tick, when several run this
        setRunTimeout(std::chrono::minutes(5));
    }

protected:
    void doWork(Warden::RunContext &context) override
    {
        // Runs in a pool thread: a connection belongs to the thread that opened it.
        const QString name = QStringLiteral("app-%1").arg(quintptr(QThread::currentThreadId()));
        QSqlDatabase db = QSqlDatabase::database(name);
        if (!db.isValid()) {
            db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
            db.setDatabaseName(m_databaseFile);
        }
        if (!db.isOpen() && !db.open())
            return context.fail(db.lastError().text());

        QSqlQuery query(db);
        query.prepare(QStringLiteral("UPDATE users SET passive = 1 WHERE passive = 0 "
                                     "AND last_login < datetime('now', '-30 days')"));
        if (!query.exec())
            return context.fail(query.lastError().text());
        context.info() << "marked" << query.numRowsAffected() << "users passive";
    }

private:
    QString m_databaseFile;
};

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    Warden::Host host; // in-process locks and an in-memory store unless told otherwise
    host.addWorker(new MarkUsersPassive(QStringLiteral("app.db")));
    host.start();
    return app.exec();
}
