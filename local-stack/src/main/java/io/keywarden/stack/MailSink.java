package io.keywarden.stack;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import jakarta.mail.internet.MimeMessage;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A real SMTP server (GreenMail) on loopback that accepts every message: where audit-service's
 * alert emails go in the local stack. Each message is also written to {@code <home>/mail/N.eml} so
 * a person can open it.
 */
public final class MailSink implements AutoCloseable {
  private final GreenMail greenMail;
  private final Path folder;
  private final ScheduledExecutorService saver;
  private int saved;

  private MailSink(GreenMail greenMail, Path folder) {
    this.greenMail = greenMail;
    this.folder = folder;
    this.saver =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "keywarden-mail-saver");
              t.setDaemon(true);
              return t;
            });
    saver.scheduleWithFixedDelay(this::save, 1, 1, TimeUnit.SECONDS);
  }

  public static MailSink start(int port, Path folder) {
    try {
      Files.createDirectories(folder);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    GreenMail gm = new GreenMail(new ServerSetup(port, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
    gm.start();
    return new MailSink(gm, folder);
  }

  /** Every message received so far, oldest first. */
  public List<MimeMessage> messages() {
    return List.of(greenMail.getReceivedMessages());
  }

  private synchronized void save() {
    MimeMessage[] all = greenMail.getReceivedMessages();
    for (; saved < all.length; saved++) {
      try (OutputStream out = Files.newOutputStream(folder.resolve((saved + 1) + ".eml"))) {
        all[saved].writeTo(out);
      } catch (Exception e) {
        // a message that cannot be saved is still readable through messages()
      }
    }
  }

  @Override
  public void close() {
    saver.shutdownNow();
    save();
    greenMail.stop();
  }
}
