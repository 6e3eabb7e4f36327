#include "rowtablemodel.h"

#include "icons.h"

#include <QtCore/QDateTime>
#include <QtCore/QSet>

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
    QHash<QString, int> incoming;
    incoming.reserve(rows.size());
    for (int i = 0; i < rows.size(); ++i)
        incoming.insert(rows.at(i).key, i);

    // 1. Remove the rows that went away, in contiguous runs from the bottom up.
    int row = int(m_rows.size()) - 1;
    int lowestRemoved = int(m_rows.size());
    while (row >= 0) {
        if (incoming.contains(m_rows.at(row).key)) {
            --row;
            continue;
        }
        const int last = row;
        while (row > 0 && !incoming.contains(m_rows.at(row - 1).key))
            --row;
        beginRemoveRows(QModelIndex(), row, last);
        for (int i = last; i >= row; --i)
            m_rowOfKey.remove(m_rows.at(i).key);
        m_rows.remove(row, last - row + 1);
        endRemoveRows();
        lowestRemoved = row;
        --row;
    }
    if (lowestRemoved < m_rows.size())
        rebuildIndex(lowestRemoved);

    // 2. Update the rows that stayed, cell by cell. Changes are reported per column, for runs of
    //    rows whose cells changed in exactly the same roles: exact roles, few signals.
    enum RoleBit {
        Display = 1,
        Sort = 2,
        Decoration = 4,
        ToolTip = 8,
        Foreground = 16,
        Detail = 32
    };
    const int columnCount = int(m_headers.size());
    QList<QList<QPair<int, int>>> changesByColumn(columnCount); // (row, role bits)
    for (int r = 0; r < m_rows.size(); ++r) {
        TableRow &current = m_rows[r];
        const TableRow &next = rows.at(incoming.value(current.key));
        const int columns = int(qMax(current.cells.size(), next.cells.size()));
        const bool detailChanged = current.detail != next.detail;
        for (int c = 0; c < columns; ++c) {
            const Cell before = c < current.cells.size() ? current.cells.at(c) : Cell();
            Cell after = c < next.cells.size() ? next.cells.at(c) : Cell();
            // A countdown keeps the text its ticks give it.
            if (after.deadline != 0 && after.deadline == before.deadline)
                after.text = before.text;
            int bits = 0;
            if (before.text != after.text)
                bits |= Display | Sort;
            if (before.sortValue != after.sortValue)
                bits |= Sort;
            if (before.icon != after.icon)
                bits |= Decoration;
            if (before.toolTip != after.toolTip)
                bits |= ToolTip;
            if (before.foreground != after.foreground)
                bits |= Foreground;
            if (before.deadline != after.deadline)
                bits |= Display;
            if (detailChanged)
                bits |= Detail;
            if (bits == 0)
                continue;
            if (c < current.cells.size())
                current.cells[c] = after;
            else
                current.cells.append(after);
            if (c < columnCount)
                changesByColumn[c].append({r, bits});
        }
        if (detailChanged)
            current.detail = next.detail;
        if (current.cells.size() > next.cells.size())
            current.cells.resize(next.cells.size());
    }
    auto rolesOf = [](int bits) {
        QList<int> roles;
        if (bits & Display)
            roles << Qt::DisplayRole;
        if (bits & Sort)
            roles << SortRole;
        if (bits & Decoration)
            roles << Qt::DecorationRole;
        if (bits & ToolTip)
            roles << Qt::ToolTipRole;
        if (bits & Foreground)
            roles << Qt::ForegroundRole;
        if (bits & Detail)
            roles << DetailRole;
        return roles;
    };
    for (int c = 0; c < columnCount; ++c) {
        const auto &changes = changesByColumn.at(c);
        if (changes.size() > scatteredChangeLimit) {
            // Many scattered changes in one column (next fire times as the clock moves): one
            // range for the column, with the roles that changed in it. A sorting proxy then
            // re-sorts once instead of once per cell.
            int bits = 0;
            for (const auto &change : changes)
                bits |= change.second;
            Q_EMIT dataChanged(index(changes.constFirst().first, c),
                               index(changes.constLast().first, c), rolesOf(bits));
            continue;
        }
        for (int i = 0; i < changes.size();) {
            int j = i + 1;
            while (j < changes.size() && changes.at(j).first == changes.at(j - 1).first + 1 &&
                   changes.at(j).second == changes.at(i).second)
                ++j;
            const QList<int> roles = rolesOf(changes.at(i).second);
            Q_EMIT dataChanged(index(changes.at(i).first, c), index(changes.at(j - 1).first, c),
                               roles);
            i = j;
        }
    }

    // 3. Append the new rows, in one insertion.
    TableRows added;
    for (const TableRow &candidate : rows) {
        if (!m_rowOfKey.contains(candidate.key))
            added.append(candidate);
    }
    if (!added.isEmpty()) {
        const int first = int(m_rows.size());
        beginInsertRows(QModelIndex(), first, first + int(added.size()) - 1);
        m_rows.append(added);
        rebuildIndex(first);
        endInsertRows();
    }
    if (m_lastTick != 0)
        tick(m_lastTick);
}

void RowTableModel::clear()
{
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
