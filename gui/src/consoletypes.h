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

//! What changed in a cell, as bits: each maps to the item roles a view must fetch again.
enum CellChangeBit {
    DisplayChanged = 1,    //!< Qt::DisplayRole (and SortRole, which falls back to the text)
    SortChanged = 2,       //!< TableRoles::SortRole
    DecorationChanged = 4, //!< Qt::DecorationRole
    ToolTipChanged = 8,    //!< Qt::ToolTipRole
    ForegroundChanged = 16 //!< Qt::ForegroundRole
};

//! One changed cell: its column, what changed (CellChangeBit) and the cell now.
struct CellChange
{
    int column = 0;
    int changes = 0;
    Cell cell;
};

//! The changed cells of one row that stayed.
struct RowChange
{
    QString key;
    QList<CellChange> cells;
    int cellCount = 0; //!< the row's cells now
    bool isDetailChanged = false;
    QString detail;
};

/*!
    A table as it changed since the update numbered \a baseVersion, worked out in the query
    thread, so that the GUI thread only applies what changed: rows removed (by key), cells
    changed (with the roles that changed), rows added. With \a baseVersion 0 it is the whole
    table, in \a added. A model that did not apply \a baseVersion refuses the update and
    asks for the whole table.
*/
struct TableUpdate
{
    quint64 version = 0;
    quint64 baseVersion = 0;
    QStringList removed;
    QList<RowChange> changed;
    TableRows added;
    int rowCount = 0; //!< rows in the table after the update

    bool isFull() const { return baseVersion == 0; }
    bool isEmpty() const
    {
        return !isFull() && removed.isEmpty() && changed.isEmpty() && added.isEmpty();
    }
};

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
enum class RunColumn { Started, Outcome, Duration, Lateness, Node, Trigger, Token, Error, Count };
enum class AuditColumn { Time, User, Action, Target, Reason, Origin, Details, Count };

//! Everything one refresh read from the store, as changes to the models.
struct ClusterSnapshot
{
    TableUpdate workers;
    TableUpdate locks;
    TableUpdate nodes;
    TableUpdate audit;
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
    TableUpdate rows;
    QList<RunRecord> runs; //!< for the chart; empty when \a rows is empty (nothing changed)
};

//! What an admin action came to.
struct ActionResult
{
    QString action; //!< enable, disable, pause, trigger, release
    QString target;
    bool isOk = false;
    QString message; //!< for the status bar or an error box
};

//! One run and its own log lines (warden runs show), for the run dialog.
struct RunDetails
{
    QString runId;
    bool isFound = false;
    QString error; //!< why it could not be read
    RunRecord run;
    QList<StoredLogLine> log;
};

enum class ConnectionState { Disconnected, Connecting, Connected, Lost };

} // namespace Warden::Console

Q_DECLARE_METATYPE(Warden::Console::ClusterSnapshot)
Q_DECLARE_METATYPE(Warden::Console::RunHistory)
Q_DECLARE_METATYPE(Warden::Console::ActionResult)
Q_DECLARE_METATYPE(Warden::Console::RunDetails)
Q_DECLARE_METATYPE(Warden::Console::ConnectionState)
Q_DECLARE_METATYPE(Warden::StoredLogLine)
