#pragma once

#include "consoletypes.h"

#include <QtCore/QAbstractTableModel>
#include <QtCore/QHash>
#include <QtCore/QStringList>

namespace Warden::Console {

/*!
    A table of keyed rows that the query thread prepared. setRows() applies a new snapshot
    incrementally: rows that went away are removed (beginRemoveRows), rows that stayed report
    dataChanged() for the cells that changed with exactly the roles that changed, and new rows
    are appended (beginInsertRows). Selections, sort order and scroll positions of the views
    therefore survive every refresh.

    Cells with a deadline count down: tick() (once a second) rewrites their text.
*/
class RowTableModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    RowTableModel(const QStringList &headers, QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;

    //! Shows \a rows, applying only what differs from the rows shown now.
    void setRows(const TableRows &rows);
    /*!
        Applies \a update, worked out in the query thread. A full update is compared with the
        rows shown (as setRows() does); any other applies as it is, and only on top of the
        update it was made against: false, and nothing changes, when the model did not apply
        that one (it was cleared meanwhile): ask for the whole table then.
    */
    bool applyUpdate(const TableUpdate &update);
    //! The version of the last update applied; 0 after clear().
    quint64 version() const { return m_version; }
    void clear();
    //! Rewrites the countdown cells for \a nowMs (epoch ms).
    void tick(qint64 nowMs);

    //! The row with \a key, or -1.
    int rowOf(const QString &key) const { return m_rowOfKey.value(key, -1); }
    QString keyAt(int row) const;
    QString detailAt(int row) const;
    QString textAt(int row, int column) const;

    //! "12 s", "3 min 4 s", "expired" for \a remainingMs.
    static QString formatCountdown(qint64 remainingMs);

private:
    void rebuildIndex(int fromRow);
    void apply(const TableUpdate &update);
    //! Rewrites the text of a countdown cell for the last tick.
    void updateCountdown(Cell &cell) const;

    QStringList m_headers;
    TableRows m_rows;
    QHash<QString, int> m_rowOfKey;
    qint64 m_lastTick = 0;
    quint64 m_version = 0;
};

} // namespace Warden::Console
