package dev.oranc.common.oci;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.oranc.common.error.RegistryException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A repository's tags as {@code GET /v2/<name>/tags/list} gives them.
 *
 * @param complete false when the list stopped at the page limit with pages left
 */
public record TagList(List<String> tags, boolean complete) {

  private static final Pattern LINK = Pattern.compile("<([^>]*)>\\s*;([^,]*)");
  private static final Pattern REL_NEXT = Pattern.compile("(?i)\\brel\\s*=\\s*\"?next\"?");

  public TagList {
    tags = List.copyOf(tags);
  }

  /** The {@code tags} of one page ({@code null} is how distribution says "none"). */
  public static List<String> parsePage(String operation, byte[] body) {
    try {
      Map<String, Object> page = JSON.std.mapFrom(body);
      Object tags = page.get("tags");
      if (tags == null) {
        return List.of();
      }
      if (!(tags instanceof List<?> list)) {
        throw new RegistryException.Protocol(operation, "\"tags\" is not a list");
      }
      List<String> out = new ArrayList<>(list.size());
      for (Object t : list) {
        if (!(t instanceof String s)) {
          throw new RegistryException.Protocol(
              operation, "a tag is not a string", String.valueOf(t), null);
        }
        out.add(s);
      }
      return out;
    } catch (IOException e) {
      throw new RegistryException.Protocol(
          operation, "the tag list is not JSON", e.getMessage(), e);
    }
  }

  /** The target of the {@code rel="next"} link among {@code Link} header values, or null. */
  public static String nextPage(List<String> linkHeaders) {
    for (String header : linkHeaders) {
      Matcher m = LINK.matcher(header);
      while (m.find()) {
        if (REL_NEXT.matcher(m.group(2)).find()) {
          return m.group(1);
        }
      }
    }
    return null;
  }
}
