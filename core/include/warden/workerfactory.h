#pragma once

#include <warden/global.h>

#include <QtCore/QObject>
#include <QtCore/QString>
#include <QtCore/QVariantMap>

namespace Warden {

class Worker;

/*!
    The interface a worker plugin implements: a Qt plugin (QPluginLoader) whose root object
    derives from QObject and WorkerFactory.

    \code
    class MyFactory : public QObject, public Warden::WorkerFactory {
        Q_OBJECT
        Q_PLUGIN_METADATA(IID WardenWorkerFactory_iid)
        Q_INTERFACES(Warden::WorkerFactory)
    public:
        Warden::Worker *create(const QString &name, const QVariantMap &settings,
                               QString *error) override;
    };
    \endcode

    A config selects it with \c{type = "plugin"} and \c{path = "/path/to/libmyworker.so"};
    every other key of the worker's table (besides the ones all workers share, such as
    \c every or \c lock) reaches create() in \a settings, with TOML values as QVariant
    (strings, integers, booleans, lists, maps).

    create() is called in the host's thread. It returns a new PeriodicWorker or
    ContinuousWorker named \a name without a parent, or null with a message in \a error. The
    config then applies the schedule, lock, timeout and the other common settings.
*/
class WARDEN_CORE_EXPORT WorkerFactory
{
public:
    virtual ~WorkerFactory();
    virtual Worker *create(const QString &name, const QVariantMap &settings, QString *error) = 0;
};

} // namespace Warden

#define WardenWorkerFactory_iid "org.warden.WorkerFactory/1"
Q_DECLARE_INTERFACE(Warden::WorkerFactory, WardenWorkerFactory_iid)
