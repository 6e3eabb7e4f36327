#include "tablediffer.h"

namespace Warden::Console {

namespace {

int changesOf(const Cell &before, const Cell &after)
{
    int bits = 0;
    // A countdown keeps the text its ticks give it.
    const bool isCountdown = after.deadline != 0 && after.deadline == before.deadline;
    if (!isCountdown && before.text != after.text)
        bits |= DisplayChanged | SortChanged;
    if (before.sortValue != after.sortValue)
        bits |= SortChanged;
    if (before.icon != after.icon)
        bits |= DecorationChanged;
    if (before.toolTip != after.toolTip)
        bits |= ToolTipChanged;
    if (before.foreground != after.foreground)
        bits |= ForegroundChanged;
    if (before.deadline != after.deadline)
        bits |= DisplayChanged;
    return bits;
}

} // namespace

TableUpdate diffTables(const TableRows &before, const QHash<QString, int> &indexBefore,
                       const TableRows &after)
{
    TableUpdate update;
    update.rowCount = int(after.size());
    QHash<QString, int> indexAfter;
    indexAfter.reserve(after.size());
    for (int i = 0; i < after.size(); ++i)
        indexAfter.insert(after.at(i).key, i);
    for (const TableRow &row : before) {
        if (!indexAfter.contains(row.key))
            update.removed.append(row.key);
    }
    static const Cell empty;
    for (const TableRow &next : after) {
        const auto found = indexBefore.constFind(next.key);
        if (found == indexBefore.constEnd()) {
            update.added.append(next);
            continue;
        }
        const TableRow &current = before.at(*found);
        RowChange change;
        const qsizetype columns = qMax(current.cells.size(), next.cells.size());
        for (qsizetype c = 0; c < columns; ++c) {
            const Cell &was = c < current.cells.size() ? current.cells.at(c) : empty;
            const Cell &now = c < next.cells.size() ? next.cells.at(c) : empty;
            if (const int bits = changesOf(was, now))
                change.cells.append(CellChange{int(c), bits, now});
        }
        change.isDetailChanged = current.detail != next.detail;
        if (change.cells.isEmpty() && !change.isDetailChanged &&
            current.cells.size() == next.cells.size())
            continue;
        change.key = next.key;
        change.detail = next.detail;
        change.cellCount = int(next.cells.size());
        update.changed.append(std::move(change));
    }
    return update;
}

TableUpdate TableDiffer::update(const TableRows &rows)
{
    TableUpdate result;
    if (m_isFullNext) {
        result.added = rows;
        result.rowCount = int(rows.size());
        m_isFullNext = false;
    } else {
        result = diffTables(m_rows, m_index, rows);
        result.baseVersion = m_version;
    }
    result.version = ++m_version;
    m_rows = rows;
    m_index.clear();
    m_index.reserve(rows.size());
    for (int i = 0; i < rows.size(); ++i)
        m_index.insert(rows.at(i).key, i);
    return result;
}

void TableDiffer::reset()
{
    m_isFullNext = true;
    m_rows.clear();
    m_index.clear();
}

} // namespace Warden::Console
