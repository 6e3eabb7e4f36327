#pragma once

#include <warden/global.h>

#include <QtCore/QString>

#include <optional>
#include <utility>

namespace Warden {

/*!
    The value of an operation that can fail (a store query, a lock statement), or the text
    of its error. Modelled on QSqlQuery: check isOk() first, then read value() or
    errorString().
*/
template<typename T> class Result
{
public:
    Result(T value)
        : m_value(std::move(value))
    {}
    static Result failure(QString error)
    {
        Result r;
        r.m_error = error.isEmpty() ? QStringLiteral("unknown error") : std::move(error);
        return r;
    }

    bool isOk() const { return m_value.has_value(); }
    explicit operator bool() const { return isOk(); }
    const T &value() const { return *m_value; }
    T &value() { return *m_value; }
    T valueOr(T fallback) const { return m_value ? *m_value : std::move(fallback); }
    const QString &errorString() const { return m_error; }

private:
    Result() = default;
    std::optional<T> m_value;
    QString m_error;
};

} // namespace Warden
