#include <warden/periodicworker.h>
#include <warden/sql/sqlconnections.h>
#include <warden/sql/sqlworkertype.h>

#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>

namespace Warden {

namespace {

void runStatements(const QString &url, const QStringList &statements, RunContext &context)
{
    QString error;
    QSqlDatabase db = SqlConnections::forCurrentThread(url, &error);
    if (!db.isOpen()) {
        context.fail(QStringLiteral("cannot connect: %1").arg(error));
        return;
    }
    if (!db.transaction()) {
        context.fail(QStringLiteral("cannot begin a transaction: %1").arg(db.lastError().text()));
        return;
    }
    qint64 total = 0;
    for (int i = 0; i < statements.size(); ++i) {
        if (context.isStopRequested()) {
            db.rollback();
            context.log(QtInfoMsg, QStringLiteral("stop requested: rolled back"));
            return;
        }
        QSqlQuery query(db);
        if (!query.exec(statements.at(i))) {
            const QString why = query.lastError().text();
            query.finish();
            db.rollback();
            context.fail(
                QStringLiteral("statement %1 failed, rolled back: %2").arg(i + 1).arg(why));
            return;
        }
        const int affected = query.numRowsAffected();
        total += qMax(0, affected);
        context.log(QtInfoMsg,
                    QStringLiteral("statement %1: %2 rows affected").arg(i + 1).arg(affected));
    }
    if (!db.commit()) {
        const QString why = db.lastError().text();
        db.rollback();
        context.fail(QStringLiteral("commit failed: %1").arg(why));
        return;
    }
    if (statements.size() > 1)
        context.log(QtInfoMsg, QStringLiteral("committed: %1 rows affected").arg(total));
}

} // namespace

WorkerTypeRegistry::Type sqlWorkerType()
{
    using VT = WorkerTypeRegistry::ValueType;
    WorkerTypeRegistry::Type type;
    type.name = QStringLiteral("sql");
    type.keys = {{QStringLiteral("connection"), VT::String, true},
                 {QStringLiteral("statements"), VT::StringOrList, true}};
    type.validator = [](const WorkerConfig &worker, const Config &config, QString *key,
                        QString *error, QString *hint) {
        const QString connection = worker.settings.value(QStringLiteral("connection")).toString();
        if (!config.connections.contains(connection)) {
            *key = QStringLiteral("connection");
            *error = QStringLiteral("no connection named \"%1\"").arg(connection);
            *hint =
                config.connections.isEmpty()
                    ? QStringLiteral("add a [connections.%1] table with url = \"...\"")
                          .arg(connection)
                    : QStringLiteral("use one of: %1 (or add [connections.%2])")
                          .arg(config.connections.keys().join(QStringLiteral(", ")), connection);
            return false;
        }
        if (worker.kind == Worker::Kind::Continuous) {
            *key = QStringLiteral("continuous");
            *error = QStringLiteral("an sql worker runs on a schedule");
            *hint = QStringLiteral("replace continuous = true with every or cron");
            return false;
        }
        const QStringList statements =
            worker.settings.value(QStringLiteral("statements")).toStringList();
        if (statements.isEmpty() || statements.first().trimmed().isEmpty()) {
            *key = QStringLiteral("statements");
            *error = QStringLiteral("statements is empty");
            *hint = QStringLiteral("give one statement or an array of them");
            return false;
        }
        return true;
    };
    type.factory = [](const WorkerConfig &worker, const Config &config, QString *) -> Worker * {
        const QString url = config.connections.value(
            worker.settings.value(QStringLiteral("connection")).toString());
        const QStringList statements =
            worker.settings.value(QStringLiteral("statements")).toStringList();
        return PeriodicWorker::create(worker.name, [url, statements](RunContext &context) {
            runStatements(url, statements, context);
        });
    };
    return type;
}

WorkerTypeRegistry allWorkerTypes()
{
    WorkerTypeRegistry registry = WorkerTypeRegistry::withBuiltins();
    registry.add(sqlWorkerType());
    return registry;
}

} // namespace Warden
