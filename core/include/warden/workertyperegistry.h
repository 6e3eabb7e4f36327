#pragma once

#include <warden/config.h>
#include <warden/global.h>

#include <QtCore/QList>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <functional>
#include <memory>

namespace Warden {

class Worker;

/*!
    The worker types a config may name in \c type, with the keys each accepts.

    The loader checks a worker's table against its type's keys (unknown keys and wrong
    types are errors with their position); create() builds the worker and applies the
    settings every worker shares (schedule, lock, timeout, misfire policy, catch-up,
    enabled).

    withBuiltins() knows \c command (an external program) and \c plugin (a Qt plugin that
    implements WorkerFactory); Warden::Sql adds \c sql.
*/
class WARDEN_CORE_EXPORT WorkerTypeRegistry
{
public:
    enum class ValueType {
        String,
        StringList,
        //! A string, or an array of strings (for example a command line).
        StringOrList,
        Boolean,
        Integer,
        Duration, //!< a string such as "90s", stored as qint64 milliseconds
        StringMap //!< a table of strings, stored as a QVariantMap
    };

    struct Key
    {
        QString name;
        ValueType type = ValueType::String;
        bool isRequired = false;
    };

    /*!
        Builds the worker for \a worker. Returns null with a message in \a error on failure.
        Called in the thread the worker's host lives in.
    */
    using Factory =
        std::function<Worker *(const WorkerConfig &worker, const Config &config, QString *error)>;
    /*!
        Checks a worker's settings beyond their types (a key that requires another, a
        connection that must exist). Returns false with the key at fault in \a key.
    */
    using Validator = std::function<bool(const WorkerConfig &worker, const Config &config,
                                         QString *key, QString *error, QString *hint)>;

    struct Type
    {
        QString name;
        QList<Key> keys;
        //! Keys beyond \a keys are passed on as they are (plugins).
        bool acceptsOtherKeys = false;
        Factory factory;
        Validator validator;
    };

    WorkerTypeRegistry();
    ~WorkerTypeRegistry();
    WorkerTypeRegistry(const WorkerTypeRegistry &other);
    WorkerTypeRegistry &operator=(const WorkerTypeRegistry &other);

    //! A registry with the \c command and \c plugin types.
    static WorkerTypeRegistry withBuiltins();

    //! Adds or replaces \a type.
    void add(const Type &type);
    const Type *type(const QString &name) const;
    QStringList typeNames() const;

    /*!
        Builds the worker \a worker of \a config and applies its common settings. Returns
        null with a message in \a error on failure.
    */
    Worker *create(const WorkerConfig &worker, const Config &config, QString *error) const;

private:
    QList<Type> m_types;
};

//! The \c command type: runs an external program (see commandworker.cpp for the contract).
WARDEN_CORE_EXPORT WorkerTypeRegistry::Type commandWorkerType();
//! The \c plugin type: a Qt plugin that implements WorkerFactory.
WARDEN_CORE_EXPORT WorkerTypeRegistry::Type pluginWorkerType();

} // namespace Warden
