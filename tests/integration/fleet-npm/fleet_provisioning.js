// SPDX-License-Identifier: Apache-2.0
// The AWS IoT device SDK v2's fleet-provisioning flow (its identity client, used as the SDK's
// fleet_provisioning sample uses it), pointed at an emulated account: only the endpoint, the
// port and the CA differ from a run against AWS.
//   node fleet_provisioning.js <config.json>
// config: {endpoint, port, ca, claimCert, claimKey, templateName, parameters, mode, mqtt, out}
//   mode: "keys" (CreateKeysAndCertificate → RegisterThing → reconnect with the new certificate),
//         "csr" (CreateCertificateFromCsr with config.csr → RegisterThing),
//         "badtoken" (RegisterThing with a token the account never issued: rejected)
//   mqtt: 3 (MQTT 3.1.1 connection) or 5 (Mqtt5Client)
// Prints one JSON line per step; exits 0 when the flow ended as the mode expects.
'use strict';
const fs = require('fs');
const path = require('path');
const { mqtt, mqtt5, iot, iotidentity } = require('aws-iot-device-sdk-v2');

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const timeoutMs = 15000;

function log(step, detail) {
  console.log(JSON.stringify({ step, ...detail }));
}

function withTimeout(promise, what) {
  return Promise.race([promise, new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs))]);
}

// A connection (MQTT 3.1.1 or 5) with `cert`/`key`; returns {identity, close}.
async function connect(cert, key, clientId) {
  if (config.mqtt === 5) {
    const builder = iot.AwsIotMqtt5ClientConfigBuilder.newDirectMqttBuilderWithMtlsFromPath(
      config.endpoint, cert, key);
    builder.withCertificateAuthorityFromPath(undefined, config.ca);
    builder.withPort(config.port);
    builder.withConnectProperties({ clientId, keepAliveIntervalSeconds: 60 });
    const client = new mqtt5.Mqtt5Client(builder.build());
    const connected = new Promise((resolve, reject) => {
      client.once('connectionSuccess', resolve);
      client.once('connectionFailure', (event) => reject(event.error));
    });
    client.start();
    await withTimeout(connected, 'connect');
    return {
      identity: iotidentity.IotIdentityClient.newFromMqtt5Client(client),
      close: async () => {
        const stopped = new Promise((resolve) => client.once('stopped', resolve));
        client.stop();
        await withTimeout(stopped, 'stop');
        client.close();
      },
    };
  }
  const builder = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder_from_path(cert, key)
    .with_certificate_authority_from_path(undefined, config.ca)
    .with_endpoint(config.endpoint)
    .with_port(config.port)
    .with_client_id(clientId)
    .with_clean_session(true);
  const connection = new mqtt.MqttClient().new_connection(builder.build());
  await withTimeout(connection.connect(), 'connect');
  return {
    identity: new iotidentity.IotIdentityClient(connection),
    close: () => withTimeout(connection.disconnect(), 'disconnect'),
  };
}

// Subscribes to an operation's accepted and rejected topics (both SUBACKed before it returns,
// as AWS requires before the request); returns {result}: a promise of the answer.
async function answer(subscribeAccepted, subscribeRejected, request) {
  let settle;
  const result = new Promise((resolve) => { settle = resolve; });
  const qos = mqtt.QoS.AtLeastOnce;
  await subscribeAccepted(request, qos, (error, response) => settle({ accepted: true, error, response }));
  await subscribeRejected(request, qos, (error, response) => settle({ accepted: false, error, response }));
  return { result };
}

async function registerThing(identity, token) {
  const request = { templateName: config.templateName };
  const reply = await answer(identity.subscribeToRegisterThingAccepted.bind(identity),
    identity.subscribeToRegisterThingRejected.bind(identity), request);
  await identity.publishRegisterThing({
    templateName: config.templateName,
    certificateOwnershipToken: token,
    parameters: config.parameters,
  }, mqtt.QoS.AtLeastOnce);
  return withTimeout(reply.result, 'RegisterThing');
}

async function main() {
  const claim = await connect(config.claimCert, config.claimKey, `npm-claim-${process.pid}`);
  log('connected', { mqtt: config.mqtt });
  const { identity } = claim;
  let token;
  let created;
  if (config.mode === 'badtoken') {
    token = 'not-a-token';
  } else if (config.mode === 'keys') {
    const reply = await answer(identity.subscribeToCreateKeysAndCertificateAccepted.bind(identity),
      identity.subscribeToCreateKeysAndCertificateRejected.bind(identity), {});
    await identity.publishCreateKeysAndCertificate({}, mqtt.QoS.AtLeastOnce);
    created = await withTimeout(reply.result, 'CreateKeysAndCertificate');
    if (!created.accepted || created.error) {
      throw new Error(`CreateKeysAndCertificate: ${JSON.stringify(created.response)} ${created.error}`);
    }
    token = created.response.certificateOwnershipToken;
    log('CreateKeysAndCertificate', { certificateId: created.response.certificateId });
  } else {
    const reply = await answer(identity.subscribeToCreateCertificateFromCsrAccepted.bind(identity),
      identity.subscribeToCreateCertificateFromCsrRejected.bind(identity), {});
    await identity.publishCreateCertificateFromCsr({
      certificateSigningRequest: fs.readFileSync(config.csr, 'utf8'),
    }, mqtt.QoS.AtLeastOnce);
    created = await withTimeout(reply.result, 'CreateCertificateFromCsr');
    if (!created.accepted || created.error) {
      throw new Error(`CreateCertificateFromCsr: ${JSON.stringify(created.response)} ${created.error}`);
    }
    token = created.response.certificateOwnershipToken;
    log('CreateCertificateFromCsr', { certificateId: created.response.certificateId });
  }
  const registered = await registerThing(identity, token);
  await claim.close();
  if (config.mode === 'badtoken') {
    log('RegisterThing', { accepted: registered.accepted, response: registered.response });
    return !registered.accepted && registered.response.errorCode === 'InvalidCertificateOwnershipToken';
  }
  if (!registered.accepted || registered.error) {
    throw new Error(`RegisterThing: ${JSON.stringify(registered.response)} ${registered.error}`);
  }
  log('RegisterThing', { thingName: registered.response.thingName,
    deviceConfiguration: registered.response.deviceConfiguration });
  if (config.mode === 'keys') {
    const cert = path.join(config.out, 'device.pem');
    const key = path.join(config.out, 'device.key');
    fs.writeFileSync(cert, created.response.certificatePem);
    fs.writeFileSync(key, created.response.privateKey, { mode: 0o600 });
    const device = await connect(cert, key, registered.response.thingName);
    log('reconnected', { clientId: registered.response.thingName });
    await device.close();
  }
  return true;
}

main().then((ok) => process.exit(ok ? 0 : 1), (error) => {
  log('failed', { error: String(error && error.stack ? error.stack : error) });
  process.exit(1);
});
