package io.keywarden.audit.it;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The records one logger category writes while it is open (its message and parameters as one line),
 * in this JVM: the service under {@code @QuarkusTest} logs through java.util.logging.
 */
final class LogCapture implements AutoCloseable {
  private final Logger logger;
  private final Level level;
  private final boolean parents;
  private final List<String> lines = Collections.synchronizedList(new ArrayList<>());
  private final Handler handler =
      new Handler() {
        @Override
        public void publish(LogRecord r) {
          lines.add(r.getMessage() + " " + Arrays.toString(r.getParameters()));
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
      };

  /** Records at {@code from} and above; {@code quiet}: not on the console as well. */
  LogCapture(String category, Level from, boolean quiet) {
    logger = Logger.getLogger(category);
    level = logger.getLevel();
    parents = logger.getUseParentHandlers();
    handler.setLevel(Level.ALL);
    logger.addHandler(handler);
    if (quiet) {
      logger.setUseParentHandlers(false);
    }
    logger.setLevel(from);
  }

  List<String> lines() {
    synchronized (lines) {
      return List.copyOf(lines);
    }
  }

  int count() {
    return lines.size();
  }

  @Override
  public void close() {
    logger.setLevel(level);
    logger.setUseParentHandlers(parents);
    logger.removeHandler(handler);
  }
}
