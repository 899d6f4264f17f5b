package io.keywarden.audit.report;

import java.util.List;

/**
 * RFC 4180 CSV (CRLF, quotes doubled) that spreadsheet apps cannot run as a formula: a cell
 * starting with = + - @ tab or CR gets a leading apostrophe (OWASP CSV injection guidance).
 */
public final class Csv {
  private Csv() {}

  public static String row(List<String> cells) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < cells.size(); i++) {
      if (i > 0) {
        sb.append(',');
      }
      sb.append(cell(cells.get(i)));
    }
    return sb.append("\r\n").toString();
  }

  public static String cell(String value) {
    if (value == null) {
      return "";
    }
    String v = value;
    if (!v.isEmpty() && "=+-@\t\r".indexOf(v.charAt(0)) >= 0) {
      v = "'" + v;
    }
    if (v.indexOf(',') >= 0
        || v.indexOf('"') >= 0
        || v.indexOf('\n') >= 0
        || v.indexOf('\r') >= 0
        || v.startsWith("'")) {
      return '"' + v.replace("\"", "\"\"") + '"';
    }
    return v;
  }
}
