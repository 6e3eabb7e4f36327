// Test helper: misuses the public API the way a new user might, so that tst_host can check
// that the process stops with a clear message instead of crashing somewhere later.
//
//   warden_misuse delete-idle | delete-running | delete-later

#include <warden/host.h>
#include <warden/periodicworker.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QTimer>

#include <chrono>
#include <cstdio>
#include <thread>

using namespace std::chrono;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QString mode = app.arguments().value(1);
    Warden::Host host;
    auto *worker =
        Warden::PeriodicWorker::create(QStringLiteral("victim"), [](Warden::RunContext &c) {
            while (!c.isStopRequested())
                std::this_thread::sleep_for(milliseconds(5));
        });
    worker->setInterval(milliseconds(mode == QLatin1String("delete-running") ? 50 : 3600000));
    worker->setInitialDelay(milliseconds(mode == QLatin1String("delete-running") ? 0 : 3600000));
    if (!host.addWorker(worker))
        return 2;
    host.start();
    QTimer::singleShot(300, &app, [&] {
        std::fprintf(stderr, "deleting the worker (%s)\n", qPrintable(mode));
        if (mode == QLatin1String("delete-later"))
            worker->deleteLater();
        else
            delete worker;
    });
    QTimer::singleShot(2000, &app, [&] {
        // Not reached when the misuse is caught.
        host.stop();
    });
    QObject::connect(&host, &Warden::Host::stopped, &app, &QCoreApplication::quit);
    return app.exec();
}
