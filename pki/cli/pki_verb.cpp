// SPDX-License-Identifier: Apache-2.0
// `elsim pki ...`: the certificate factory's verbs. Every verb validates all of its input
// before it creates anything, writes its output directory atomically (pki/factory.hpp) and
// exits 0 on success, 2 on bad input (one line on stderr naming the file or option), 1 when
// the work itself failed.
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "pki/factory.hpp"
#include "sim/core/adapters.hpp"
#include "verbs.hpp"

namespace elsim {
namespace {

namespace fs = std::filesystem;

int ExitFor(const sim::Error& error) {
    switch (error.code) {
        case sim::ErrorCode::kInvalidArgument:
        case sim::ErrorCode::kAlreadyExists:
        case sim::ErrorCode::kNotFound:
        case sim::ErrorCode::kFailedPrecondition:
            return kExitBadInput;
        default:
            return kExitFailed;
    }
}

int Fail(const std::string& verb, const sim::Error& error) {
    std::fprintf(stderr, "elsim pki %s: %s\n", verb.c_str(), error.message.c_str());
    return ExitFor(error);
}

int BadInput(const std::string& verb, const std::string& message) {
    return Fail(verb, sim::Error{sim::ErrorCode::kInvalidArgument, message});
}

// Where a signing CA comes from: a directory made by `ca` or `aws-ca`, or two files.
struct SignerOptions {
    std::string ca_dir;
    std::string ca_cert;
    std::string ca_key;
};

void AddSignerOptions(CLI::App& verb, SignerOptions& options, const std::string& what) {
    auto* dir = verb.add_option("--ca-dir", options.ca_dir,
                                "Directory written by `elsim pki " + what +
                                    "` (its issuing CA signs)");
    auto* cert = verb.add_option("--ca-cert", options.ca_cert,
                                 "CA certificate PEM file (instead of --ca-dir)");
    auto* key = verb.add_option("--ca-key", options.ca_key,
                                "CA private key PEM file (with --ca-cert)");
    dir->excludes(cert)->excludes(key);
    cert->needs(key);
    key->needs(cert);
}

sim::Result<pki::CertificateAuthority> LoadSigner(const SignerOptions& options) {
    if (!options.ca_cert.empty()) {
        return pki::LoadCaFiles(options.ca_cert, options.ca_key);
    }
    if (options.ca_dir.empty()) {
        return sim::MakeError(sim::ErrorCode::kInvalidArgument,
                              "give --ca-dir or --ca-cert with --ca-key");
    }
    const fs::path dir = options.ca_dir;
    std::error_code ec;
    if (fs::exists(dir / "root-ca.pem", ec)) {  // an `aws-ca` directory
        return pki::LoadCaFiles(dir / "root-ca.pem", dir / "root-ca.key");
    }
    auto chain = pki::LoadCaDirectory(dir);
    if (!chain) {
        return sim::Unexpected<sim::Error>(chain.error());
    }
    return chain->issuing();
}

struct Common {
    std::string dir;
    bool force = false;
};

void AddOutputOptions(CLI::App& verb, Common& common) {
    verb.add_option("--dir", common.dir, "Output directory (created; must not exist unless --force)")
        ->required();
    verb.add_flag("--force", common.force, "Replace the output directory if it exists");
}

// `--key-type ec|rsa`, default shown in the help.
void AddKeyTypeOption(CLI::App& verb, std::string& key_type, const std::string& description) {
    verb.add_option("--key-type", key_type, description)
        ->check(CLI::IsMember({"ec", "rsa"}))
        ->capture_default_str();
}

// `--days N` (1 to 36500), default shown in the help.
void AddDaysOption(CLI::App& verb, int& days, const std::string& description) {
    verb.add_option("--days", days, description)
        ->check(CLI::Range(1, 36500))
        ->capture_default_str();
}

pki::TimePoint Now() { return sim::SystemClock().Now(); }

// Checks the output directory (Begin() refuses before it creates anything), runs `produce`
// into a staged directory and commits it. Callers validate all other input first, so nothing
// is created for a request that fails.
template <class Fn>
int Produce(const std::string& verb, const Common& common, Fn&& produce) {
    auto out = pki::StagedDirectory::Begin(common.dir, common.force);
    if (!out) {
        return Fail(verb, out.error());
    }
    if (auto status = produce(*out); !status) {
        return Fail(verb, status.error());
    }
    if (auto status = out->Commit(); !status) {
        return Fail(verb, status.error());
    }
    return kExitOk;
}

sim::Status Ok() { return {}; }
template <class T>
sim::Status ToStatus(const sim::Result<T>& result) {
    if (!result) {
        return sim::Unexpected<sim::Error>(result.error());
    }
    return {};
}

void PrintModules(const std::vector<pki::ModuleRecord>& records, const fs::path& dir,
                  std::size_t limit) {
    std::printf("%-34s  %-64s  %s\n", "ThingName", "certificateId", "files");
    for (std::size_t i = 0; i < records.size() && i < limit; ++i) {
        std::printf("%-34s  %-64s  %s\n", records[i].thing_name.c_str(),
                    records[i].certificate_id.c_str(),
                    (dir / records[i].thing_name).string().c_str());
    }
    if (records.size() > limit) {
        std::printf("... %zu modules in all, listed in %s\n", records.size(),
                    (dir / "index.json").string().c_str());
    }
}

// ---- verbs --------------------------------------------------------------------------------

struct CaArgs {
    Common common;
    std::string key_type = "ec";
    int days = 7300;
    bool intermediate = false;
    std::string subject;
    std::string organization = "elsim Manufacturer";
};

sim::Result<pki::CaOptions> ToCaOptions(const CaArgs& args) {
    pki::CaOptions options;
    auto type = pki::ParseKeyType(args.key_type);
    if (!type) {
        return sim::Unexpected<sim::Error>(type.error());
    }
    options.key_type = *type;
    options.days = pki::Days{args.days};
    options.intermediate = args.intermediate;
    options.organization = args.organization;
    if (!args.subject.empty()) {
        auto dn = pki::ParseDistinguishedName(args.subject);
        if (!dn) {
            return sim::MakeError(dn.error().code, "--subject: " + dn.error().message);
        }
        options.subject = std::move(dn).value();
    }
    return options;
}

void AddCa(CLI::App& pki_app, VerbContext& context) {
    auto args = std::make_shared<CaArgs>();
    auto* verb = pki_app.add_subcommand(
        "ca", "Make a manufacturer CA: DIR/root.pem, root.key (0600), with --intermediate also "
              "intermediate.pem/.key; chain.pem = issuing CA + root");
    AddOutputOptions(*verb, args->common);
    AddKeyTypeOption(*verb, args->key_type, "Key type: ec (P-256) or rsa (2048 bits)");
    AddDaysOption(*verb, args->days, "Validity in days from now");
    verb->add_flag("--intermediate", args->intermediate,
                   "Also make an intermediate CA (pathlen 0) that signs modules");
    verb->add_option("--subject", args->subject,
                     "Root subject, e.g. \"O=Acme,CN=Acme Root CA\" (default from --org)");
    verb->add_option("--org", args->organization, "Organization (O=) of the default subject")
        ->capture_default_str();
    verb->callback([args, &context] {
        auto options = ToCaOptions(*args);
        if (!options) {
            context.exit_code = Fail("ca", options.error());
            return;
        }
        context.exit_code = Produce("ca", args->common, [&](pki::StagedDirectory& out) {
            auto chain = pki::WriteCa(*options, Now(), out);
            if (chain) {
                std::printf("root CA %s  %s\n", chain->root.info().certificate_id.c_str(),
                            chain->root.info().subject.ToString().c_str());
                if (chain->intermediate) {
                    std::printf("intermediate CA %s  %s\n",
                                chain->intermediate->info().certificate_id.c_str(),
                                chain->intermediate->info().subject.ToString().c_str());
                }
            }
            return ToStatus(chain);
        });
    });
}

struct ModulesArgs {
    Common common;
    SignerOptions signer;
    std::size_t count = 0;
    std::string key_type = "ec";
    int days = 3650;
    std::string organization;
};

void AddModules(CLI::App& pki_app, VerbContext& context) {
    auto args = std::make_shared<ModulesArgs>();
    auto* verb = pki_app.add_subcommand(
        "modules",
        "Make ExpressLink module birth identities: DIR/<ThingName>/{cert.pem,key.pem,chain.pem}, "
        "DIR/index.json and index.csv. ThingName = the certificate serial = its CN (34 hex)");
    AddOutputOptions(*verb, args->common);
    AddSignerOptions(*verb, args->signer, "ca");
    verb->add_option("--count", args->count, "Number of modules (at least 1)")->required();
    AddKeyTypeOption(*verb, args->key_type, "Module key type: ec (P-256) or rsa");
    AddDaysOption(*verb, args->days, "Validity in days from now (capped at the CA's notAfter)");
    verb->add_option("--org", args->organization, "Optional O= in each module's subject");
    verb->callback([args, &context] {
        if (args->count == 0) {
            context.exit_code = BadInput("modules", "--count must be at least 1");
            return;
        }
        auto type = pki::ParseKeyType(args->key_type);
        auto ca = LoadSigner(args->signer);
        if (!ca) {
            context.exit_code = Fail("modules", ca.error());
            return;
        }
        pki::ModulesOptions options;
        options.count = args->count;
        options.key_type = *type;
        options.days = pki::Days{args->days};
        options.organization = args->organization;
        auto logger = sim::Logger("pki");
        if (args->count >= 1000) {
            options.progress = [logger](std::size_t done, std::size_t total) {
                if (done % 1000 == 0 || done == total) {
                    logger->info("modules {}/{}", done, total);
                }
            };
        }
        context.exit_code = Produce("modules", args->common, [&](pki::StagedDirectory& out) {
            auto records = pki::WriteModules(*ca, options, Now(), out);
            if (records) {
                PrintModules(*records, args->common.dir, 10);
            }
            return ToStatus(records);
        });
    });
}

void AddClaim(CLI::App& pki_app, VerbContext& context) {
    auto args = std::make_shared<std::pair<Common, SignerOptions>>();
    auto* verb = pki_app.add_subcommand(
        "claim",
        "Make a claim-thing certificate as AWS IoT's CreateKeysAndCertificate would (RSA-2048, "
        "CN=AWS IoT Certificate, signed by the emulated AWS IoT CA): DIR/cert.pem, private.key, "
        "public.key, certificate-id.txt. A world's emulated AWS IoT CA is its issuing CA, "
        "WORLD/pki/issuing-ca.{pem,key} (`elsim world identities` makes a claim-thing with it)");
    AddOutputOptions(*verb, args->first);
    AddSignerOptions(*verb, args->second, "aws-ca");
    verb->callback([args, &context] {
        auto ca = LoadSigner(args->second);
        if (!ca) {
            context.exit_code = Fail("claim", ca.error());
            return;
        }
        context.exit_code = Produce("claim", args->first, [&](pki::StagedDirectory& out) {
            auto claim = pki::WriteClaim(*ca, Now(), out);
            if (claim) {
                std::printf("claim certificate %s\n", claim->certificate.certificate_id.c_str());
            }
            return ToStatus(claim);
        });
    });
}

struct VerificationArgs {
    Common common;
    SignerOptions signer;
    std::string code;
    int days = 365;
};

void AddVerification(CLI::App& pki_app, VerbContext& context) {
    auto args = std::make_shared<VerificationArgs>();
    auto* verb = pki_app.add_subcommand(
        "verification",
        "Make the verification certificate for RegisterCACertificate: CN = the registration "
        "code, signed by the CA: DIR/verification.pem, verification.key, certificate-id.txt");
    AddOutputOptions(*verb, args->common);
    AddSignerOptions(*verb, args->signer, "ca");
    verb->add_option("--registration-code", args->code,
                     "The account's registration code (aws iot get-registration-code)")
        ->required();
    AddDaysOption(*verb, args->days, "Validity in days");
    verb->callback([args, &context] {
        if (auto spec = pki::VerificationSpec(args->code, Now(), pki::Days{1}); !spec) {
            context.exit_code = BadInput("verification", "--registration-code: " +
                                                             spec.error().message);
            return;
        }
        auto ca = LoadSigner(args->signer);
        if (!ca) {
            context.exit_code = Fail("verification", ca.error());
            return;
        }
        context.exit_code =
            Produce("verification", args->common, [&](pki::StagedDirectory& out) {
                auto cert = pki::WriteVerification(*ca, args->code, pki::Days{args->days}, Now(),
                                                   out);
                if (cert) {
                    std::printf("verification certificate %s\n", cert->certificate_id.c_str());
                }
                return ToStatus(cert);
            });
    });
}

struct AwsCaArgs {
    Common common;
    std::string key_type = "rsa";
    int days = 7300;
};

void AddAwsCa(CLI::App& pki_app, VerbContext& context) {
    auto args = std::make_shared<AwsCaArgs>();
    auto* verb = pki_app.add_subcommand(
        "aws-ca",
        "Make the emulated AWS IoT root CA (signs endpoint server certificates and AWS-issued "
        "device certificates): DIR/root-ca.pem, root-ca.key");
    AddOutputOptions(*verb, args->common);
    AddKeyTypeOption(*verb, args->key_type,
                     "Key type: rsa (2048, like Amazon Root CA 1) or ec (P-256, like Root CA 3)");
    AddDaysOption(*verb, args->days, "Validity in days");
    verb->callback([args, &context] {
        context.exit_code = Produce("aws-ca", args->common, [&](pki::StagedDirectory& out) {
            auto ca = pki::WriteAwsCa(*pki::ParseKeyType(args->key_type), pki::Days{args->days},
                                      Now(), out);
            if (ca) {
                std::printf("AWS IoT CA %s  %s\n", ca->info().certificate_id.c_str(),
                            ca->info().subject.ToString().c_str());
            }
            return ToStatus(ca);
        });
    });
}

struct ServerArgs {
    Common common;
    SignerOptions signer;
    std::vector<std::string> names;
    std::vector<std::string> ips;
    std::string key_type = "ec";
    int days = 3650;
};

void AddServer(CLI::App& pki_app, VerbContext& context) {
    auto args = std::make_shared<ServerArgs>();
    auto* verb = pki_app.add_subcommand(
        "server",
        "Make an endpoint server certificate with SANs (EKU serverAuth), signed by the emulated "
        "AWS IoT CA: DIR/cert.pem, key.pem, chain.pem, certificate-id.txt");
    AddOutputOptions(*verb, args->common);
    AddSignerOptions(*verb, args->signer, "aws-ca");
    verb->add_option("--name", args->names, "DNS name (repeat for several); the first is the CN");
    verb->add_option("--ip", args->ips, "IP address SAN (repeat for several)");
    AddKeyTypeOption(*verb, args->key_type, "Key type: ec (P-256) or rsa");
    AddDaysOption(*verb, args->days, "Validity in days");
    verb->callback([args, &context] {
        auto spec = pki::ServerSpec(args->names, args->ips, Now(), pki::Days{1});
        if (!spec) {
            context.exit_code = BadInput("server", spec.error().message + " (--name/--ip)");
            return;
        }
        auto ca = LoadSigner(args->signer);
        if (!ca) {
            context.exit_code = Fail("server", ca.error());
            return;
        }
        // Validate names and addresses before anything is written.
        if (auto probe = pki::Key::Generate(pki::KeyType::kEcP256); probe) {
            if (auto issued = ca->Issue(*spec, *probe); !issued) {
                context.exit_code = Fail("server", issued.error());
                return;
            }
        }
        context.exit_code = Produce("server", args->common, [&](pki::StagedDirectory& out) {
            auto cert = pki::WriteServer(*ca, args->names, args->ips,
                                         *pki::ParseKeyType(args->key_type),
                                         pki::Days{args->days}, Now(), out);
            if (cert) {
                std::printf("server certificate %s\n", cert->certificate_id.c_str());
            }
            return ToStatus(cert);
        });
    });
}

void PrintBroken(const std::vector<pki::BrokenCase>& cases) {
    for (const auto& c : cases) {
        std::printf("%-18s %s  %s\n", c.name.c_str(), c.certificate_id.c_str(),
                    c.expected_openssl_error.empty() ? "(verifies)"
                                                     : c.expected_openssl_error.c_str());
    }
}

void AddBroken(CLI::App& pki_app, VerbContext& context) {
    auto args = std::make_shared<std::pair<Common, std::string>>();
    auto* verb = pki_app.add_subcommand(
        "broken",
        "Make the broken cases a test suite needs, each in DIR/<case>/ (cert.pem, key.pem, and "
        "ca.pem/ca.key for its own CA), listed in DIR/index.json with the expected OpenSSL "
        "error: expired, not-yet-valid, no-client-auth, unregistered-ca, look-alike-ca, "
        "chain-without-ca, chain-with-ca");
    AddOutputOptions(*verb, args->first);
    verb->add_option("--ca-dir", args->second, "Manufacturer CA directory (from `elsim pki ca`)")
        ->required();
    verb->callback([args, &context] {
        auto chain = pki::LoadCaDirectory(args->second);
        if (!chain) {
            context.exit_code = Fail("broken", chain.error());
            return;
        }
        context.exit_code = Produce("broken", args->first, [&](pki::StagedDirectory& out) {
            auto cases = pki::WriteBroken(*chain, Now(), out);
            if (cases) {
                PrintBroken(*cases);
            }
            return ToStatus(cases);
        });
    });
}

void AddId(CLI::App& pki_app, VerbContext& context) {
    auto file = std::make_shared<std::string>();
    auto* verb = pki_app.add_subcommand(
        "id", "Print the certificateId (lowercase hex SHA-256 of the DER) of a PEM certificate");
    verb->add_option("FILE", *file, "PEM file (its first certificate is used)")->required();
    verb->callback([file, &context] {
        auto id = pki::CertificateIdOfFile(*file);
        if (!id) {
            context.exit_code = Fail("id", id.error());
            return;
        }
        std::printf("%s\n", id->c_str());
        context.exit_code = kExitOk;
    });
}

struct DemoArgs {
    Common common;
    bool intermediate = false;
    std::size_t count = 5;
};

void AddDemo(CLI::App& pki_app, VerbContext& context) {
    auto args = std::make_shared<DemoArgs>();
    auto* verb = pki_app.add_subcommand(
        "demo",
        "Make a demo PKI in DIR: ca/ (manufacturer CA), modules/ (5 modules), aws/ (emulated "
        "AWS IoT CA), claim/, servers/<name>/, broken/; print what was made");
    AddOutputOptions(*verb, args->common);
    verb->add_flag("--intermediate", args->intermediate, "Give the manufacturer CA an intermediate");
    verb->add_option("--count", args->count, "Number of modules")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    verb->callback([args, &context] {
        const fs::path dir = args->common.dir;
        context.exit_code = Produce("demo", args->common, [&](pki::StagedDirectory& out) {
            const auto now = Now();
            pki::CaOptions ca_options;
            ca_options.intermediate = args->intermediate;
            auto chain = pki::WriteCa(ca_options, now, out, "ca");
            if (!chain) {
                return ToStatus(chain);
            }
            pki::ModulesOptions modules;
            modules.count = args->count;
            auto records = pki::WriteModules(chain->issuing(), modules, now, out, "modules");
            if (!records) {
                return ToStatus(records);
            }
            auto aws = pki::WriteAwsCa(pki::KeyType::kRsa2048, pki::Days{7300}, now, out, "aws");
            if (!aws) {
                return ToStatus(aws);
            }
            auto claim = pki::WriteClaim(*aws, now, out, "claim");
            if (!claim) {
                return ToStatus(claim);
            }
            const std::string endpoint = "a1b2c3d4e5f6g7-ats.iot.us-east-1.elsim.test";
            auto server = pki::WriteServer(*aws, {endpoint}, {"127.0.0.1"}, pki::KeyType::kEcP256,
                                           pki::Days{3650}, now, out,
                                           fs::path("servers") / endpoint);
            if (!server) {
                return ToStatus(server);
            }
            auto broken = pki::WriteBroken(*chain, now, out, "broken");
            if (!broken) {
                return ToStatus(broken);
            }
            std::printf("manufacturer CA  %s  %s\n",
                        chain->issuing().info().certificate_id.c_str(),
                        (dir / "ca").string().c_str());
            std::printf("AWS IoT CA       %s  %s\n", aws->info().certificate_id.c_str(),
                        (dir / "aws/root-ca.pem").string().c_str());
            std::printf("claim-thing      %s  %s\n", claim->certificate.certificate_id.c_str(),
                        (dir / "claim").string().c_str());
            std::printf("server           %s  %s\n", server->certificate_id.c_str(),
                        (dir / "servers" / endpoint).string().c_str());
            std::printf("\n");
            PrintModules(*records, dir / "modules", 20);
            std::printf("\nbroken cases (%s):\n", (dir / "broken").string().c_str());
            PrintBroken(*broken);
            return Ok();
        });
    });
}

}  // namespace

void AddPkiVerb(CLI::App& app, VerbContext& context) {
    auto* pki_app = app.add_subcommand(
        "pki", "Certificate factory: manufacturer CAs, module birth identities, claim, "
               "verification, AWS IoT CA, server and broken certificates");
    pki_app->require_subcommand(1);
    AddCa(*pki_app, context);
    AddModules(*pki_app, context);
    AddClaim(*pki_app, context);
    AddVerification(*pki_app, context);
    AddAwsCa(*pki_app, context);
    AddServer(*pki_app, context);
    AddBroken(*pki_app, context);
    AddId(*pki_app, context);
    AddDemo(*pki_app, context);
}

}  // namespace elsim
