// Security keys (WebAuthn): sign in with one, and register one on the account page.
// The node makes every challenge and checks every answer; this script only
// carries them between the page and the browser's navigator.credentials.
// Without WebAuthn in the browser, the buttons stay hidden and codes still work.
"use strict";

(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function bytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      out[i] = raw.charCodeAt(i);
    }
    return out.buffer;
  }

  function text(buffer) {
    if (!buffer) {
      return null;
    }
    var view = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < view.length; i++) {
      raw += String.fromCharCode(view[i]);
    }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return { type: d.type, id: bytes(d.id), transports: d.transports };
    });
  }

  function answer(credential) {
    var r = credential.response;
    var response = { clientDataJSON: text(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = text(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = text(r.authenticatorData);
      response.signature = text(r.signature);
      response.userHandle = text(r.userHandle);
    }
    return JSON.stringify({
      id: credential.id,
      rawId: text(credential.rawId),
      type: credential.type,
      response: response,
      clientExtensionResults: credential.getClientExtensionResults(),
    });
  }

  function post(url, fields) {
    var body = new URLSearchParams();
    Object.keys(fields).forEach(function (k) {
      body.append(k, fields[k]);
    });
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) {
          throw new Error(data.error || response.statusText);
        }
        return data;
      });
    });
  }

  function say(place, message) {
    if (place) {
      place.textContent = message;
      place.hidden = false;
    }
  }

  // Sign-in: login and password first, then the key answers the node's challenge.
  var signIn = document.getElementById("sign-in-person");
  var keyButton = document.getElementById("sign-in-with-key");
  if (signIn && keyButton) {
    keyButton.hidden = false;
    keyButton.addEventListener("click", function () {
      var problem = document.getElementById("key-error");
      if (problem) {
        problem.hidden = true;
      }
      var finish = document.getElementById("sign-in-key");
      post(keyButton.dataset.begin, {
        csrf: signIn.elements.csrf.value,
        login: signIn.elements.login.value,
        password: signIn.elements.password.value,
      })
        .then(function (data) {
          var o = data.options;
          return navigator.credentials.get({
            publicKey: {
              challenge: bytes(o.challenge),
              rpId: o.rpId,
              timeout: o.timeout,
              allowCredentials: descriptors(o.allowCredentials),
              userVerification: o.userVerification,
            },
          });
        })
        .then(function (credential) {
          finish.elements.credential.value = answer(credential);
          finish.submit();
        })
        .catch(function (err) {
          say(problem, err && err.name === "NotAllowedError" ? keyButton.dataset.cancelled : err.message);
        });
    });
  }

  // The account page: a new key for the person signed in.
  var register = document.getElementById("register-key");
  if (register) {
    var registerButton = document.getElementById("register-key-button");
    register.hidden = false;
    var unsupported = document.getElementById("keys-unsupported");
    if (unsupported) {
      unsupported.hidden = true;
    }
    register.addEventListener("submit", function (event) {
      if (register.elements.credential.value) {
        return;
      }
      event.preventDefault();
      var problem = document.getElementById("register-error");
      registerButton.disabled = true;
      post(register.dataset.begin, { csrf: register.elements.csrf.value })
        .then(function (data) {
          var o = data.options;
          register.elements.handle.value = data.handle;
          return navigator.credentials.create({
            publicKey: {
              rp: o.rp,
              user: { id: bytes(o.user.id), name: o.user.name, displayName: o.user.displayName },
              challenge: bytes(o.challenge),
              pubKeyCredParams: o.pubKeyCredParams,
              timeout: o.timeout,
              excludeCredentials: descriptors(o.excludeCredentials),
              authenticatorSelection: o.authenticatorSelection,
              attestation: o.attestation,
            },
          });
        })
        .then(function (credential) {
          register.elements.credential.value = answer(credential);
          register.submit();
        })
        .catch(function (err) {
          registerButton.disabled = false;
          say(problem, err && err.name === "NotAllowedError" ? register.dataset.cancelled : err.message);
        });
    });
  }
})();
