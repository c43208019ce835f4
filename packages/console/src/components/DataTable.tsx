/** The console's tables: scrollable on a narrow screen, a header row of column names, the rows given. */
import type { ReactNode, TableHTMLAttributes } from "react";

/** A column's header: its name, or a name only screen readers hear (a column of buttons). */
export type Column = string | { hidden: string };

export function DataTable({
  columns,
  caption,
  foot,
  children,
  ...table
}: {
  columns: readonly Column[];
  /** The table's name for screen readers (a visually hidden caption). */
  caption?: string;
  foot?: ReactNode;
  children: ReactNode;
} & TableHTMLAttributes<HTMLTableElement>) {
  return (
    <div className="table-wrap">
      <table {...table}>
        {caption ? <caption className="visually-hidden">{caption}</caption> : null}
        <thead>
          <tr>
            {columns.map((column) =>
              typeof column === "string" ? (
                <th scope="col" key={column}>
                  {column}
                </th>
              ) : (
                <th scope="col" key={column.hidden}>
                  <span className="visually-hidden">{column.hidden}</span>
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
        {foot ? <tfoot>{foot}</tfoot> : null}
      </table>
    </div>
  );
}
