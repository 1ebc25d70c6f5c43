package dev.oranc.proxy.s3;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

/**
 * The XML of S3: the answers we write (multipart results, errors) and the one request body we read.
 */
public final class S3Xml {

  private static final String HEAD = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  private static final String NS = " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"";
  private static final XMLInputFactory INPUT = XMLInputFactory.newFactory();

  static {
    // A client's XML: no DTD, no external entities.
    INPUT.setProperty(XMLInputFactory.SUPPORT_DTD, false);
    INPUT.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
    INPUT.setProperty(XMLInputFactory.IS_NAMESPACE_AWARE, false);
  }

  private S3Xml() {}

  /** One {@code <Part>} of a CompleteMultipartUpload. */
  public record CompletedPart(int number, String etag) {}

  /** The answer to CreateMultipartUpload. */
  public static String initiateResult(String bucket, String key, String uploadId) {
    return HEAD
        + "<InitiateMultipartUploadResult"
        + NS
        + "><Bucket>"
        + escape(bucket)
        + "</Bucket><Key>"
        + escape(key)
        + "</Key><UploadId>"
        + escape(uploadId)
        + "</UploadId></InitiateMultipartUploadResult>";
  }

  /** The answer to CompleteMultipartUpload. */
  public static String completeResult(String location, String bucket, String key, String etag) {
    return HEAD
        + "<CompleteMultipartUploadResult"
        + NS
        + "><Location>"
        + escape(location)
        + "</Location><Bucket>"
        + escape(bucket)
        + "</Bucket><Key>"
        + escape(key)
        + "</Key><ETag>"
        + escape(etag)
        + "</ETag></CompleteMultipartUploadResult>";
  }

  /** An error answer: {@code <Error><Code>…</Code><Message>…</Message></Error>}. */
  public static String error(String code, String message) {
    return HEAD
        + "<Error><Code>"
        + code
        + "</Code><Message>"
        + escape(message)
        + "</Message></Error>";
  }

  /**
   * The parts listed by a CompleteMultipartUpload body, in the order given: {@code
   * <CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"…"</ETag></Part>…}. Other
   * elements (checksums) are ignored.
   *
   * @throws S3Rejected.MalformedXml when it is not that
   */
  public static List<CompletedPart> parseComplete(InputStream body) {
    List<CompletedPart> parts = new ArrayList<>();
    XMLStreamReader r = null;
    try {
      r = INPUT.createXMLStreamReader(body);
      boolean root = false;
      Integer number = null;
      String etag = null;
      boolean inPart = false;
      while (r.hasNext()) {
        int event = r.next();
        if (event == XMLStreamConstants.DTD) {
          throw new S3Rejected.MalformedXml("a DTD is not allowed");
        }
        if (event != XMLStreamConstants.START_ELEMENT && event != XMLStreamConstants.END_ELEMENT) {
          continue;
        }
        String name = r.getLocalName();
        if (event == XMLStreamConstants.START_ELEMENT) {
          if (!root) {
            if (!name.equals("CompleteMultipartUpload")) {
              throw new S3Rejected.MalformedXml("the body is not a CompleteMultipartUpload");
            }
            root = true;
          } else if (name.equals("Part")) {
            inPart = true;
            number = null;
            etag = null;
          } else if (inPart && name.equals("PartNumber")) {
            String text = r.getElementText().trim();
            try {
              number = Integer.parseInt(text);
            } catch (NumberFormatException e) {
              throw new S3Rejected.MalformedXml(
                  "PartNumber '" + abbreviate(text) + "' is not a number");
            }
          } else if (inPart && name.equals("ETag")) {
            etag = r.getElementText().trim();
          }
        } else if (name.equals("Part")) {
          if (number == null || etag == null) {
            throw new S3Rejected.MalformedXml("a Part without PartNumber or ETag");
          }
          parts.add(new CompletedPart(number, etag));
          inPart = false;
        }
      }
      if (!root) {
        throw new S3Rejected.MalformedXml("the body is empty");
      }
    } catch (XMLStreamException e) {
      throw new S3Rejected.MalformedXml("the body is not well-formed XML");
    } finally {
      if (r != null) {
        try {
          r.close();
        } catch (XMLStreamException e) {
          // nothing held
        }
      }
    }
    if (parts.isEmpty()) {
      throw new S3Rejected.MalformedXml("the CompleteMultipartUpload lists no parts");
    }
    return parts;
  }

  /** An ETag without its quotes, lower case: how two are compared. */
  static String bareETag(String etag) {
    String e = etag.trim();
    if (e.length() >= 2 && e.startsWith("\"") && e.endsWith("\"")) {
      e = e.substring(1, e.length() - 1);
    }
    return e.toLowerCase(Locale.ROOT);
  }

  /**
   * Text as XML 1.0 character data, in element content or an attribute value alike.
   *
   * <ul>
   *   <li>{@code & < > " '} become entities (the quotes only matter in attributes; escaping them
   *       everywhere keeps one rule).
   *   <li>Tab, line feed and carriage return are legal but a parser normalises them (a CR to LF,
   *       all three to a space in an attribute): they become character references, which come back
   *       as they were.
   *   <li>What XML 1.0 cannot carry at all, not even as a reference (the other C0 controls, U+FFFE,
   *       U+FFFF, a surrogate without its pair) becomes '?', as in the server's one-line messages.
   *       A surrogate pair (a character past U+FFFF) is kept.
   * </ul>
   */
  public static String escape(String s) {
    StringBuilder b = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        b.append(c).append(s.charAt(++i));
        continue;
      }
      switch (c) {
        case '&' -> b.append("&amp;");
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&apos;");
        case '\t', '\n', '\r' -> b.append("&#").append((int) c).append(';');
        default ->
            b.append(c < 0x20 || c == 0xFFFE || c == 0xFFFF || Character.isSurrogate(c) ? '?' : c);
      }
    }
    return b.toString();
  }

  private static String abbreviate(String s) {
    return s.length() > 20 ? s.substring(0, 20) + "…" : s;
  }
}
