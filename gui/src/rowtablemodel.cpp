#include "rowtablemodel.h"

#include "icons.h"
#include "tablediffer.h"

#include <QtCore/QDateTime>
#include <QtCore/QSet>
#include <QtCore/QVarLengthArray>

#include <algorithm>
#include <functional>

namespace Warden::Console {

namespace {
//! Above this many changed cells in one column, one dataChanged() covers them.
const int scatteredChangeLimit = 32;
} // namespace

RowTableModel::RowTableModel(const QStringList &headers, QObject *parent)
    : QAbstractTableModel(parent)
    , m_headers(headers)
{}

int RowTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int RowTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_headers.size());
}

QVariant RowTableModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() < 0 || index.row() >= m_rows.size() || index.column() < 0 ||
        index.column() >= m_headers.size())
        return QVariant();
    const TableRow &row = m_rows.at(index.row());
    if (role == KeyRole)
        return row.key;
    if (role == DetailRole)
        return row.detail;
    if (index.column() >= row.cells.size())
        return QVariant();
    const Cell &cell = row.cells.at(index.column());
    switch (role) {
    case Qt::DisplayRole:
        return cell.text;
    case SortRole:
        return cell.sortValue.isValid() ? cell.sortValue : QVariant(cell.text);
    case Qt::DecorationRole:
        return cell.icon.isEmpty() ? QVariant() : QVariant(Icons::icon(cell.icon));
    case Qt::ToolTipRole:
        return cell.toolTip.isEmpty() ? QVariant() : QVariant(cell.toolTip);
    case Qt::ForegroundRole:
        return cell.foreground.isValid() ? QVariant(cell.foreground) : QVariant();
    default:
        return QVariant();
    }
}

QVariant RowTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role != Qt::DisplayRole || orientation != Qt::Horizontal || section < 0 ||
        section >= m_headers.size())
        return QVariant();
    return m_headers.at(section);
}

Qt::ItemFlags RowTableModel::flags(const QModelIndex &index) const
{
    if (!index.isValid())
        return Qt::NoItemFlags;
    return Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemNeverHasChildren;
}

QString RowTableModel::keyAt(int row) const
{
    return row >= 0 && row < m_rows.size() ? m_rows.at(row).key : QString();
}

QString RowTableModel::detailAt(int row) const
{
    return row >= 0 && row < m_rows.size() ? m_rows.at(row).detail : QString();
}

QString RowTableModel::textAt(int row, int column) const
{
    if (row < 0 || row >= m_rows.size() || column < 0 || column >= m_rows.at(row).cells.size())
        return QString();
    return m_rows.at(row).cells.at(column).text;
}

void RowTableModel::rebuildIndex(int fromRow)
{
    for (int i = fromRow; i < m_rows.size(); ++i)
        m_rowOfKey.insert(m_rows.at(i).key, i);
}

void RowTableModel::setRows(const TableRows &rows)
{
    apply(diffTables(m_rows, m_rowOfKey, rows));
}

bool RowTableModel::applyUpdate(const TableUpdate &update)
{
    if (update.isFull()) {
        setRows(update.added);
    } else {
        if (update.baseVersion != m_version)
            return false;
        apply(update);
    }
    m_version = update.version;
    return true;
}

void RowTableModel::updateCountdown(Cell &cell) const
{
    if (cell.deadline != 0 && m_lastTick != 0)
        cell.text = formatCountdown(cell.deadline - m_lastTick);
}

void RowTableModel::apply(const TableUpdate &update)
{
    // 1. Remove the rows that went away, in contiguous runs from the bottom up.
    if (!update.removed.isEmpty()) {
        QList<int> doomed;
        doomed.reserve(update.removed.size());
        for (const QString &key : update.removed) {
            const int row = rowOf(key);
            if (row >= 0)
                doomed.append(row);
        }
        std::sort(doomed.begin(), doomed.end(), std::greater<int>());
        int lowest = int(m_rows.size());
        for (int i = 0; i < doomed.size();) {
            int j = i + 1;
            while (j < doomed.size() && doomed.at(j) == doomed.at(j - 1) - 1)
                ++j;
            const int first = doomed.at(j - 1);
            const int last = doomed.at(i);
            beginRemoveRows(QModelIndex(), first, last);
            for (int r = first; r <= last; ++r)
                m_rowOfKey.remove(m_rows.at(r).key);
            m_rows.remove(first, last - first + 1);
            endRemoveRows();
            lowest = first;
            i = j;
        }
        if (lowest < m_rows.size())
            rebuildIndex(lowest);
    }

    // 2. Update the cells that changed. Changes are reported per column, for runs of rows
    //    whose cells changed in exactly the same roles: exact roles, few signals.
    const int detailBit = 32;
    const int columnCount = int(m_headers.size());
    QList<QList<QPair<int, int>>> changesByColumn(columnCount); // (row, role bits)
    QVarLengthArray<int, 32> rowBits(columnCount);
    for (const RowChange &change : update.changed) {
        const int r = rowOf(change.key);
        if (r < 0)
            continue;
        std::fill(rowBits.begin(), rowBits.end(), change.isDetailChanged ? detailBit : 0);
        TableRow &current = m_rows[r];
        for (const CellChange &cellChange : change.cells) {
            const int c = cellChange.column;
            if (c >= current.cells.size())
                current.cells.resize(c + 1);
            Cell &cell = current.cells[c];
            const QString shown = cell.text;
            cell = cellChange.cell;
            if (cell.deadline != 0 && !(cellChange.changes & DisplayChanged))
                cell.text = shown; // the countdown goes on
            else
                updateCountdown(cell);
            if (c < columnCount)
                rowBits[c] |= cellChange.changes;
        }
        if (current.cells.size() != change.cellCount)
            current.cells.resize(change.cellCount);
        if (change.isDetailChanged)
            current.detail = change.detail;
        for (int c = 0; c < columnCount; ++c) {
            if (rowBits[c] != 0)
                changesByColumn[c].append({r, rowBits[c]});
        }
    }
    auto rolesOf = [](int bits) {
        QList<int> roles;
        if (bits & DisplayChanged)
            roles << Qt::DisplayRole << SortRole;
        else if (bits & SortChanged)
            roles << SortRole;
        if (bits & DecorationChanged)
            roles << Qt::DecorationRole;
        if (bits & ToolTipChanged)
            roles << Qt::ToolTipRole;
        if (bits & ForegroundChanged)
            roles << Qt::ForegroundRole;
        if (bits & detailBit)
            roles << DetailRole;
        return roles;
    };
    for (int c = 0; c < columnCount; ++c) {
        auto &changes = changesByColumn[c];
        if (changes.isEmpty())
            continue;
        std::sort(changes.begin(), changes.end());
        if (changes.size() > scatteredChangeLimit) {
            // Many scattered changes in one column (next fire times as the clock moves): one
            // range for the column, with the roles that changed in it. A sorting proxy then
            // re-sorts once instead of once per cell.
            int columnBits = 0;
            for (const auto &change : std::as_const(changes))
                columnBits |= change.second;
            Q_EMIT dataChanged(index(changes.constFirst().first, c),
                               index(changes.constLast().first, c), rolesOf(columnBits));
            continue;
        }
        for (int i = 0; i < changes.size();) {
            int j = i + 1;
            while (j < changes.size() && changes.at(j).first == changes.at(j - 1).first + 1 &&
                   changes.at(j).second == changes.at(i).second)
                ++j;
            Q_EMIT dataChanged(index(changes.at(i).first, c), index(changes.at(j - 1).first, c),
                               rolesOf(changes.at(i).second));
            i = j;
        }
    }

    // 3. Append the new rows, in one insertion.
    if (!update.added.isEmpty()) {
        const int first = int(m_rows.size());
        beginInsertRows(QModelIndex(), first, first + int(update.added.size()) - 1);
        m_rows.append(update.added);
        for (int r = first; r < m_rows.size(); ++r) {
            for (Cell &cell : m_rows[r].cells)
                updateCountdown(cell);
        }
        rebuildIndex(first);
        endInsertRows();
    }
}

void RowTableModel::clear()
{
    m_version = 0;
    if (m_rows.isEmpty())
        return;
    beginResetModel();
    m_rows.clear();
    m_rowOfKey.clear();
    endResetModel();
}

QString RowTableModel::formatCountdown(qint64 remainingMs)
{
    if (remainingMs <= 0)
        return tr("expired");
    const qint64 seconds = (remainingMs + 999) / 1000;
    if (seconds < 60)
        return tr("%n s", nullptr, int(seconds));
    if (seconds < 3600)
        return tr("%1 min %2 s").arg(seconds / 60).arg(seconds % 60);
    return tr("%1 h %2 min").arg(seconds / 3600).arg((seconds % 3600) / 60);
}

void RowTableModel::tick(qint64 nowMs)
{
    m_lastTick = nowMs;
    for (int r = 0; r < m_rows.size(); ++r) {
        QList<Cell> &cells = m_rows[r].cells;
        for (int c = 0; c < cells.size(); ++c) {
            Cell &cell = cells[c];
            if (cell.deadline == 0)
                continue;
            const QString text = formatCountdown(cell.deadline - nowMs);
            if (text == cell.text)
                continue;
            cell.text = text;
            const QModelIndex changed = index(r, c);
            Q_EMIT dataChanged(changed, changed, {Qt::DisplayRole});
        }
    }
}

} // namespace Warden::Console
