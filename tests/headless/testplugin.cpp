// A worker plugin as a third party would write one: it appends its settings to a file on
// every run.
#include <warden/periodicworker.h>
#include <warden/workerfactory.h>

#include <QtCore/QFile>
#include <QtCore/QObject>
#include <QtCore/QtPlugin>

class TestWorkerFactory : public QObject, public Warden::WorkerFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID WardenWorkerFactory_iid)
    Q_INTERFACES(Warden::WorkerFactory)

public:
    Warden::Worker *create(const QString &name, const QVariantMap &settings,
                           QString *error) override
    {
        const QString output = settings.value(QStringLiteral("output")).toString();
        if (output.isEmpty()) {
            *error = QStringLiteral("the test plugin needs output = \"FILE\"");
            return nullptr;
        }
        const QString greeting = settings.value(QStringLiteral("greeting")).toString();
        const qint64 times = settings.value(QStringLiteral("times")).toLongLong();
        return Warden::PeriodicWorker::create(name, [=](Warden::RunContext &context) {
            QFile file(output);
            if (!file.open(QIODevice::Append)) {
                context.fail(file.errorString());
                return;
            }
            file.write(QStringLiteral("%1 %2 %3\n")
                           .arg(context.workerName(), greeting)
                           .arg(times)
                           .toUtf8());
            context.info() << "plugin wrote" << greeting;
        });
    }
};

#include "testplugin.moc"
