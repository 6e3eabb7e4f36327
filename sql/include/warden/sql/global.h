#pragma once

#include <QtCore/qglobal.h>

#if defined(WARDEN_SQL_STATIC)
#define WARDEN_SQL_EXPORT
#elif defined(WARDEN_SQL_BUILDING)
#define WARDEN_SQL_EXPORT Q_DECL_EXPORT
#else
#define WARDEN_SQL_EXPORT Q_DECL_IMPORT
#endif
