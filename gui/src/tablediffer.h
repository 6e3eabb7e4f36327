#pragma once

#include "consoletypes.h"

#include <QtCore/QHash>

namespace Warden::Console {

/*!
    The changes that turn \a before (indexed by key in \a indexBefore) into \a after: the
    keys that went away, the cells that changed in the rows that stayed, and the new rows, in
    the order of \a after. A countdown cell (Cell::deadline) whose deadline stayed keeps the
    text its model's ticks gave it: its text is not compared.
*/
TableUpdate diffTables(const TableRows &before, const QHash<QString, int> &indexBefore,
                       const TableRows &after);

/*!
    Turns the tables a refresh builds into TableUpdates against the previous refresh, in the
    query thread. The first update, and the first after reset(), is the whole table.
*/
class TableDiffer final
{
public:
    TableUpdate update(const TableRows &rows);
    //! The next update is the whole table again (a new connection, a model that lost track).
    void reset();

private:
    TableRows m_rows;
    QHash<QString, int> m_index;
    quint64 m_version = 0;
    bool m_isFullNext = true;
};

} // namespace Warden::Console
