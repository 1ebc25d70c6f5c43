package dev.oranc.testkit;

import java.util.List;

/**
 * One request the token service answered.
 *
 * @param account the Basic user name (also when its password was wrong), or null for an anonymous
 *     request
 * @param scopes the {@code scope} parameters, as sent
 * @param granted what the token allows, one {@code type:name:actions} per resource
 * @param status the HTTP status answered (401 for a wrong password)
 */
public record TokenRequest(String account, List<String> scopes, List<String> granted, int status) {
  public TokenRequest {
    scopes = List.copyOf(scopes);
    granted = List.copyOf(granted);
  }

  public boolean anonymous() {
    return account == null;
  }
}
