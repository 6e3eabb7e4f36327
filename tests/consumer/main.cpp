// The smallest application on an installed Warden: one periodic worker that runs three times,
// then the application quits. Exit code 0 when the runs happened and succeeded.
#include <warden/host.h>
#include <warden/periodicworker.h>
#include <warden/records.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QTextStream>
#include <QtCore/QTimer>

#include <atomic>

class Tick final : public Warden::PeriodicWorker
{
public:
    Tick()
        : PeriodicWorker(QStringLiteral("tick"))
    {
        setInterval(std::chrono::milliseconds(50));
    }

    std::atomic<int> runs{0};

protected:
    void doWork(Warden::RunContext &context) override
    {
        context.info() << "tick" << ++runs;
    }
};

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QTextStream out(stdout);
    out << "Warden " << Warden::version() << Qt::endl;

    Warden::Host host;
    auto *tick = new Tick;
    host.addWorker(tick);
    int succeeded = 0;
    QObject::connect(tick, &Warden::Worker::runFinished, &app,
                     [&](const Warden::RunRecord &run) {
                         if (run.outcome == Warden::RunOutcome::Succeeded && ++succeeded == 3)
                             app.quit();
                     });
    QTimer::singleShot(30000, &app, [&] { app.exit(1); }); // never hang a test
    host.start();
    const int rc = app.exec();
    host.stop();
    out << "runs: " << tick->runs << ", succeeded: " << succeeded << Qt::endl;
    return rc == 0 && succeeded >= 3 ? 0 : 1;
}
