#pragma once

#include <warden/global.h>

#include <QtCore/QLoggingCategory>

namespace Warden {

/*!
    \file logging.h
    Warden's logging categories; select them with QT_LOGGING_RULES, for example
    QT_LOGGING_RULES="warden.lease.debug=true".
*/
WARDEN_CORE_EXPORT const QLoggingCategory &lcHost();   //!< warden.host
WARDEN_CORE_EXPORT const QLoggingCategory &lcWorker(); //!< warden.worker: the runs' own lines
WARDEN_CORE_EXPORT const QLoggingCategory &lcLease();  //!< warden.lease
WARDEN_CORE_EXPORT const QLoggingCategory &lcStore();  //!< warden.store

} // namespace Warden
