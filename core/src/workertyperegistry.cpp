#include <warden/continuousworker.h>
#include <warden/cronschedule.h>
#include <warden/periodicworker.h>
#include <warden/workerfactory.h>
#include <warden/workertyperegistry.h>

#include <QtCore/QFileInfo>
#include <QtCore/QPluginLoader>

namespace Warden {

WorkerFactory::~WorkerFactory() = default;

WorkerTypeRegistry::WorkerTypeRegistry() = default;
WorkerTypeRegistry::~WorkerTypeRegistry() = default;
WorkerTypeRegistry::WorkerTypeRegistry(const WorkerTypeRegistry &other) = default;
WorkerTypeRegistry &WorkerTypeRegistry::operator=(const WorkerTypeRegistry &other) = default;

WorkerTypeRegistry WorkerTypeRegistry::withBuiltins()
{
    WorkerTypeRegistry registry;
    registry.add(commandWorkerType());
    registry.add(pluginWorkerType());
    return registry;
}

void WorkerTypeRegistry::add(const Type &type)
{
    for (Type &existing : m_types) {
        if (existing.name == type.name) {
            existing = type;
            return;
        }
    }
    m_types.append(type);
}

const WorkerTypeRegistry::Type *WorkerTypeRegistry::type(const QString &name) const
{
    for (const Type &t : m_types) {
        if (t.name == name)
            return &t;
    }
    return nullptr;
}

QStringList WorkerTypeRegistry::typeNames() const
{
    QStringList names;
    for (const Type &t : m_types)
        names.append(t.name);
    names.sort();
    return names;
}

Worker *WorkerTypeRegistry::create(const WorkerConfig &worker, const Config &config,
                                   QString *error) const
{
    const Type *t = type(worker.type);
    if (!t || !t->factory) {
        if (error)
            *error = QStringLiteral("unknown worker type \"%1\"").arg(worker.type);
        return nullptr;
    }
    Worker *created = t->factory(worker, config, error);
    if (!created)
        return nullptr;
    auto fail = [&](const QString &message) -> Worker * {
        if (error)
            *error = message;
        delete created;
        return nullptr;
    };
    if (created->name() != worker.name)
        return fail(QStringLiteral("the type made a worker named \"%1\", not \"%2\"")
                        .arg(created->name(), worker.name));
    if (created->kind() != worker.kind)
        return fail(worker.kind == Worker::Kind::Continuous
                        ? QStringLiteral("continuous = true, but the type made a periodic worker")
                        : QStringLiteral("the type made a continuous worker; remove the schedule "
                                         "and set continuous = true"));
    if (worker.lockMode != LockMode::None)
        created->setLock(worker.lockMode, worker.lockName);
    created->setEnabled(worker.enabled);
    if (auto *periodic = qobject_cast<PeriodicWorker *>(created)) {
        if (worker.every.count() > 0) {
            periodic->setInterval(worker.every);
        } else {
            const auto schedule = worker.schedule();
            if (!schedule)
                return fail(QStringLiteral("bad schedule"));
            periodic->setSchedule(*schedule);
        }
        periodic->setRunTimeout(worker.timeout);
        periodic->setMisfirePolicy(worker.misfire);
        periodic->setCatchUp(worker.catchUp);
    }
    return created;
}

// --- plugin ---------------------------------------------------------------------------------

WorkerTypeRegistry::Type pluginWorkerType()
{
    WorkerTypeRegistry::Type type;
    type.name = QStringLiteral("plugin");
    type.keys = {{QStringLiteral("path"), WorkerTypeRegistry::ValueType::String, true}};
    type.acceptsOtherKeys = true;
    type.validator = [](const WorkerConfig &worker, const Config &config, QString *key,
                        QString *error, QString *hint) {
        const QString path =
            config.resolvePath(worker.settings.value(QStringLiteral("path")).toString());
        if (!QFileInfo::exists(path)) {
            *key = QStringLiteral("path");
            *error = QStringLiteral("plugin %1 does not exist").arg(path);
            *hint = QStringLiteral("give the plugin's file; relative paths start at the config "
                                   "file's folder");
            return false;
        }
        return true;
    };
    type.factory = [](const WorkerConfig &worker, const Config &config,
                      QString *error) -> Worker * {
        const QString path =
            config.resolvePath(worker.settings.value(QStringLiteral("path")).toString());
        // The loader stays loaded: the worker's code lives in it until the process ends.
        QPluginLoader loader(path);
        QObject *root = loader.instance();
        if (!root) {
            if (error)
                *error =
                    QStringLiteral("cannot load plugin %1: %2").arg(path, loader.errorString());
            return nullptr;
        }
        auto *factory = qobject_cast<WorkerFactory *>(root);
        if (!factory) {
            if (error)
                *error = QStringLiteral("plugin %1 does not implement %2")
                             .arg(path, QLatin1String(WardenWorkerFactory_iid));
            return nullptr;
        }
        QVariantMap settings = worker.settings;
        settings.remove(QStringLiteral("path"));
        QString why;
        Worker *created = nullptr;
        try {
            created = factory->create(worker.name, settings, &why);
        } catch (const std::exception &e) {
            why = QString::fromLocal8Bit(e.what());
        } catch (...) {
            why = QStringLiteral("the plugin threw");
        }
        if (!created && error)
            *error = QStringLiteral("plugin %1 made no worker: %2")
                         .arg(path, why.isEmpty() ? QStringLiteral("no reason given") : why);
        return created;
    };
    return type;
}

} // namespace Warden
