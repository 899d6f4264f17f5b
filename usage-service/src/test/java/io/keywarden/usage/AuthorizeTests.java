package io.keywarden.usage;

import static io.restassured.RestAssured.given;

import io.keywarden.stack.testing.KeywardenStackResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.specification.RequestSpecification;

/** {@link AuthorizeCases} with the gateway holding an OIDC client-credentials token. */
@QuarkusTest
@QuarkusTestResource(value = KeywardenStackResource.class)
class AuthorizeTests extends AuthorizeCases {
  @Override
  protected RequestSpecification gateway() {
    return given().auth().oauth2(fx.gatewayToken());
  }
}
