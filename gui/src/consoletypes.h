#pragma once

#include <warden/records.h>
#include <warden/store.h>

#include <QtCore/QDateTime>
#include <QtCore/QList>
#include <QtCore/QMetaType>
#include <QtCore/QString>
#include <QtCore/QVariant>
#include <QtGui/QColor>

namespace Warden::Console {

/*!
    One cell of a table as the query thread prepares it: the GUI thread only compares and
    shows cells, it never formats a record. Each member maps to one item role, so that a
    changed cell reports exactly the roles that changed.
*/
struct Cell
{
    QString text;        //!< Qt::DisplayRole
    QVariant sortValue;  //!< TableRoles::SortRole (numbers and times sort as numbers)
    QString icon;        //!< Qt::DecorationRole: an icon name from Icons
    QString toolTip;     //!< Qt::ToolTipRole
    QColor foreground;   //!< Qt::ForegroundRole when valid
    qint64 deadline = 0; //!< epoch ms: the text counts down to it every second ("12 s")

    bool operator==(const Cell &other) const
    {
        return text == other.text && sortValue == other.sortValue && icon == other.icon &&
               toolTip == other.toolTip && foreground == other.foreground &&
               deadline == other.deadline;
    }
    bool operator!=(const Cell &other) const { return !(*this == other); }
};

//! One row: a stable key (worker, lock, node name...), a detail the actions need, its cells.
struct TableRow
{
    QString key;
    QString detail; //!< workers: the lock name; locks: the holder
    QList<Cell> cells;
};
using TableRows = QList<TableRow>;

enum TableRoles {
    SortRole = Qt::UserRole + 1,
    KeyRole,    //!< the row's key, on every column
    DetailRole, //!< the row's detail, on every column
};

//! Columns of the workers table.
enum class WorkerColumn {
    Name,
    State,
    Nodes,
    Switch,
    Schedule,
    NextFire,
    LeaseHolder,
    LastRun,
    Outcome,
    Duration,
    Lateness,
    Runs,
    Failures,
    Reason,
    ChangedBy,
    Count
};
enum class LockColumn { Name, Status, Holder, Token, Acquired, TimeLeft, Count };
enum class NodeColumn { Id, Status, Host, Pid, Version, Started, Heartbeat, ClockOffset, Count };
enum class RunColumn { Started, Outcome, Duration, Lateness, Node, Manual, Token, Error, Count };
enum class AuditColumn { Time, User, Action, Target, Reason, Origin, Details, Count };

//! Everything one refresh read from the store, ready for the models.
struct ClusterSnapshot
{
    TableRows workers;
    TableRows locks;
    TableRows nodes;
    TableRows audit;
    QDateTime takenAt;
    qint64 queryMs = 0; //!< how long the queries took
    int aliveNodes = 0;
    int runningWorkers = 0;
    int failedWorkers = 0;
};

//! The run history of one worker: the table rows and the points of the chart.
struct RunHistory
{
    QString worker;
    TableRows rows;
    QList<RunRecord> runs;
};

//! What an admin action came to.
struct ActionResult
{
    QString action; //!< enable, disable, pause, trigger, release
    QString target;
    bool isOk = false;
    QString message; //!< for the status bar or an error box
};

enum class ConnectionState { Disconnected, Connecting, Connected, Lost };

} // namespace Warden::Console

Q_DECLARE_METATYPE(Warden::Console::ClusterSnapshot)
Q_DECLARE_METATYPE(Warden::Console::RunHistory)
Q_DECLARE_METATYPE(Warden::Console::ActionResult)
Q_DECLARE_METATYPE(Warden::Console::ConnectionState)
Q_DECLARE_METATYPE(Warden::StoredLogLine)
