// The README's second example: the host keeps its leases and run history in a database, so
// that the same program on several machines runs each tick once. The test suite builds this
// file, and checks that the README shows it as is.
#include <warden/host.h>
#include <warden/periodicworker.h>
#include <warden/sql/database.h>

#include <QtCore/QCoreApplication>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    auto database = Warden::Database::open(QStringLiteral("sqlite:///var/lib/myapp/warden.db"));
    if (!database.isOk())
        qFatal("%s", qPrintable(database.errorString()));

    Warden::Host host;
    host.setLockManager(database.value().lockManager());
    host.setStore(database.value().store());

    auto *refresh = Warden::PeriodicWorker::create(
        QStringLiteral("refresh-cache"),
        [](Warden::RunContext &context) { context.info() << "refreshing on" << context.nodeId(); });
    refresh->setInterval(std::chrono::minutes(5));
    refresh->setLock(Warden::LockMode::PerRun);
    host.addWorker(refresh);
    host.start();
    return app.exec();
}
