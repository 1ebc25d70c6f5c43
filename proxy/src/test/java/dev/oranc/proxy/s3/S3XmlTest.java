package dev.oranc.proxy.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.StringReader;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamReader;
import org.junit.jupiter.api.Test;

/**
 * The one XML escaper, for the multipart results and the error bodies alike: what XML 1.0 can carry
 * comes back from a real parser as it was (in an element and in an attribute), and what it cannot
 * carry is replaced, so the document stays well-formed.
 */
class S3XmlTest {

  @Test
  void markupCharactersAndQuotesAreEntities() {
    assertEquals(
        "a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;", S3Xml.escape("a <b> & \"c\" 'd'"));
  }

  @Test
  void whatXmlCarriesComesBackFromAParserUnchanged() throws Exception {
    String text = "tab\there, line\nfeed, cr\r, <&>\"', é, \uD83D\uDE00, \u0085";
    assertEquals(text, elementText("<a>" + S3Xml.escape(text) + "</a>"));
    assertEquals(text, attribute("<a v=\"" + S3Xml.escape(text) + "\"/>"));
    assertEquals(text, attribute("<a v='" + S3Xml.escape(text) + "'/>"));
  }

  @Test
  void whatXmlCannotCarryBecomesAQuestionMark() throws Exception {
    String text = "nul\u0000, esc\u001b, \uFFFE\uFFFF, lone \uD800 and \uDC00, end";
    String escaped = S3Xml.escape(text);
    assertEquals("nul?, esc?, ??, lone ? and ?, end", escaped);
    assertEquals(escaped, elementText("<a>" + escaped + "</a>"));
  }

  @Test
  void anErrorBodyIsS3s() {
    assertEquals(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>"
            + "<Message>a &amp; b</Message></Error>",
        S3Xml.error("SlowDown", "a & b"));
  }

  private static String elementText(String xml) throws Exception {
    XMLStreamReader r = XMLInputFactory.newFactory().createXMLStreamReader(new StringReader(xml));
    r.nextTag();
    return r.getElementText();
  }

  private static String attribute(String xml) throws Exception {
    XMLStreamReader r = XMLInputFactory.newFactory().createXMLStreamReader(new StringReader(xml));
    while (r.next() != XMLStreamConstants.START_ELEMENT) {
      // to the element
    }
    return r.getAttributeValue(0);
  }
}
