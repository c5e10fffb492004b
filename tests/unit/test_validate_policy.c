/* resource_validate for the authorization resources: client groups, topic
 * spaces and permission bindings. */
#include "validate_test_util.h"

#define CG KIND_CLIENT_GROUP
#define TS KIND_TOPIC_SPACE
#define PB KIND_PERMISSION_BINDING
#define TT "properties.topicTemplates"

static void test_client_group(void **state)
{
    (void)state;
    EXPECT_JSON(
        VALID(CG, "sensors",
              "{\"name\": \"sensors\", \"properties\": {\"query\": "
              "\"attributes.type IN ['sensor', 'gateway'] AND attributes.floor <= 3\","
              " \"description\": \"all sensors\", \"provisioningState\": \"Succeeded\"}}",
              NULL),
        "{\"properties\": {\"query\": \"attributes.type IN ['sensor', 'gateway'] AND attributes.floor <= 3\","
        " \"description\": \"all sensors\"}}");
    EXPECT_JSON(VALID(CG, "by-name", "{'properties': {'query': 'authenticationName = \\'d1\\''}}", NULL),
                "{'properties': {'query': 'authenticationName = \\'d1\\''}}");
    INVALID(CG, "sensors", "{}", NULL, "InvalidProperty", "properties.query", "properties.query is required");
    INVALID(CG, "sensors", "{'properties': {}}", NULL, "InvalidProperty", "properties.query",
            "properties.query is required");
    INVALID(CG, "sensors", "{'properties': {'query': null}}", NULL, "InvalidProperty", "properties.query",
            "is required");
    INVALID(CG, "sensors", "{'properties': {'query': ['a']}}", NULL, "InvalidProperty", "properties.query",
            "properties.query must be a string, not an array");
    INVALID(CG, "sensors", "{'properties': {'query': 'attributes.type ='}}", NULL, "InvalidQuery",
            "properties.query", "properties.query does not parse: ");
    INVALID(CG, "sensors", "{'properties': {'query': 'attributes.type ='}}", NULL, "InvalidQuery",
            "properties.query", "at offset 17");
    INVALID(CG, "sensors", "{'properties': {'query': ''}}", NULL, "InvalidQuery", "properties.query",
            "at offset 0");
    INVALID(CG, "sensors", "{'properties': {'query': 'attributes.x = 1', 'filter': 'x'}}", NULL,
            "UnknownField", "properties.filter", "properties.filter is not a known field");
    INVALID(CG, "sensors", "{'properties': {'query': 'attributes.x = 1', 'description': 5}}", NULL,
            "InvalidProperty", "properties.description", "must be a string");
    /* $all is read-only, whatever the body */
    INVALID(CG, "$all", "{'properties': {'query': 'attributes.x = 1'}}", NULL, "ReadOnlyResource", "name",
            "the built-in client group $all cannot be changed");
}

/* 2048 bytes of query at most, checked before parsing. */
static void test_client_group_query_length(void **state)
{
    (void)state;
    const char *head = "attributes.k = '";
    size_t room = 2048 - strlen(head) - 1;
    for (size_t extra = 0; extra <= 1; extra++) {
        char *value = repeat('v', room + extra);
        char *query = malloc(strlen(head) + strlen(value) + 2);
        sprintf(query, "%s%s'", head, value);
        json_t *body = json_pack("{s:{s:s}}", "properties", "query", query);
        if (extra == 0) {
            assert_int_equal(strlen(query), 2048);
            json_decref(valid_json_at(__FILE__, __LINE__, CG, "big", body, NULL, NULL));
        } else {
            invalid_json_at(__FILE__, __LINE__, CG, "big", body, NULL, NULL, "InvalidProperty",
                            "properties.query", "properties.query must be at most 2048 bytes long, not 2049");
        }
        json_decref(body);
        free(query);
        free(value);
    }
}

static void test_topic_space(void **state)
{
    (void)state;
    EXPECT_JSON(VALID(TS, "telemetry",
                      "{'properties': {'topicTemplates': ['devices/${client.authenticationName}/telemetry/#',"
                      " 'plants/${client.attributes.site}/m-${client.attributes.line}/+', '$SYS/#', 'a'],"
                      " 'description': 'd', 'provisioningState': 'Succeeded'}}",
                      NULL),
                "{'properties': {'topicTemplates': ['devices/${client.authenticationName}/telemetry/#',"
                " 'plants/${client.attributes.site}/m-${client.attributes.line}/+', '$SYS/#', 'a'],"
                " 'description': 'd'}}");
    INVALID(TS, "telemetry", "{}", NULL, "InvalidProperty", TT, TT " is required");
    INVALID(TS, "telemetry", "{'properties': {'topicTemplates': 'a/b'}}", NULL, "InvalidProperty", TT,
            TT " must be an array, not a string");
    INVALID(TS, "telemetry", "{'properties': {'topicTemplates': []}}", NULL, "InvalidProperty", TT,
            "must hold at least one topic template");
    INVALID(TS, "telemetry", "{'properties': {'topicTemplates': ['a', {}]}}", NULL, "InvalidProperty",
            TT "[1]", TT "[1] must be a string, not an object");
    INVALID(TS, "telemetry", "{'properties': {'topicTemplates': ['a', 'b', 'a']}}", NULL, "InvalidProperty",
            TT "[2]", TT "[2] repeats the topic template at index 0");
    INVALID(TS, "telemetry", "{'properties': {'topicTemplates': ['a', 'b', 'a/#/c']}}", NULL,
            "InvalidTopicTemplate", TT "[2]", TT "[2] is not a valid topic template");
    INVALID(TS, "telemetry", "{'properties': {'topicTemplates': ['x/${client.name}']}}", NULL,
            "InvalidTopicTemplate", TT "[0]", "is not a valid topic template: unknown variable");
    INVALID(TS, "telemetry", "{'properties': {'topicTemplates': ['']}}", NULL, "InvalidTopicTemplate",
            TT "[0]", "is not a valid topic template");
    INVALID(TS, "telemetry", "{'properties': {'topicTemplates': ['$share/g/a']}}", NULL,
            "InvalidTopicTemplate", TT "[0]", "is not a valid topic template");
    INVALID(TS, "telemetry", "{'properties': {'topicTemplates': ['a'], 'topicSpaceType': 'x'}}", NULL,
            "UnknownField", "properties.topicSpaceType", "not a known field");
}

static json_t *templates_body(int n)
{
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, json_sprintf("t/%d/#", i));
    return json_pack("{s:{s:o}}", "properties", "topicTemplates", list);
}

static void test_topic_space_quota(void **state)
{
    (void)state;
    json_t *body = templates_body(10);
    json_decref(valid_json_at(__FILE__, __LINE__, TS, "many", body, NULL, NULL));
    json_decref(body);
    body = templates_body(11);
    invalid_json_at(__FILE__, __LINE__, TS, "many", body, NULL, NULL, "InvalidProperty", TT,
                    "holds 11 topic templates; the limit is 10 per topic space");
    json_decref(body);
    cp_quotas q;
    cp_quotas_default(&q);
    q.templates_per_space = 2;
    body = templates_body(3);
    invalid_json_at(__FILE__, __LINE__, TS, "many", body, NULL, &q, "InvalidProperty", TT, "the limit is 2");
    json_decref(body);
    q.templates_per_space = 50;
    body = templates_body(50);
    json_decref(valid_json_at(__FILE__, __LINE__, TS, "many", body, NULL, &q));
    json_decref(body);
}

static void test_permission_binding(void **state)
{
    (void)state;
    EXPECT_JSON(
        VALID(PB, "pub-alerts",
              "{'properties': {'clientGroupName': '$all', 'topicSpaceName': 'alerts',"
              " 'permission': 'Publisher', 'provisioningState': 'Succeeded'}}",
              NULL),
        "{'properties': {'clientGroupName': '$all', 'topicSpaceName': 'alerts', 'permission': 'Publisher'}}");
    EXPECT_JSON(VALID(PB, "sub-alerts",
                      "{'properties': {'clientGroupName': 'sensors', 'topicSpaceName': 'alerts',"
                      " 'permission': 'Subscriber', 'description': 'they listen'}}",
                      NULL),
                "{'properties': {'clientGroupName': 'sensors', 'topicSpaceName': 'alerts',"
                " 'permission': 'Subscriber', 'description': 'they listen'}}");
    INVALID(PB, "b1b", "{}", NULL, "InvalidProperty", "properties.clientGroupName",
            "properties.clientGroupName is required");
    INVALID(PB, "b1b", "{'properties': {'clientGroupName': 'g1g', 'permission': 'Publisher'}}", NULL,
            "InvalidProperty", "properties.topicSpaceName", "properties.topicSpaceName is required");
    INVALID(PB, "b1b", "{'properties': {'clientGroupName': 'g1g', 'topicSpaceName': 't1t'}}", NULL,
            "InvalidProperty", "properties.permission", "properties.permission is required");
    INVALID(PB, "b1b",
            "{'properties': {'clientGroupName': 'g1g', 'topicSpaceName': 't1t', 'permission': 'Owner'}}",
            NULL, "InvalidProperty", "properties.permission",
            "properties.permission must be one of Publisher, Subscriber");
    INVALID(PB, "b1b",
            "{'properties': {'clientGroupName': 'g', 'topicSpaceName': 't1t', 'permission': 'Publisher'}}",
            NULL, "InvalidProperty", "properties.clientGroupName",
            "properties.clientGroupName must be 3-50 characters long, not 1");
    INVALID(PB, "b1b",
            "{'properties': {'clientGroupName': 'g_1', 'topicSpaceName': 't1t', 'permission': 'Publisher'}}",
            NULL, "InvalidProperty", "properties.clientGroupName", "'_' at position 1 is not allowed");
    INVALID(PB, "b1b",
            "{'properties': {'clientGroupName': 'g1g', 'topicSpaceName': '$all', 'permission': 'Publisher'}}",
            NULL, "InvalidProperty", "properties.topicSpaceName", "may hold only letters, digits and '-'");
    INVALID(PB, "b1b",
            "{'properties': {'clientGroupName': 12, 'topicSpaceName': 't1t', 'permission': 'Publisher'}}",
            NULL, "InvalidProperty", "properties.clientGroupName", "must be a string, not an integer");
    INVALID(PB, "b1b",
            "{'properties': {'clientGroupName': 'g1g', 'topicSpaceName': 't1t', 'permission': 'Publisher',"
            " 'topicSpace': 'x'}}",
            NULL, "UnknownField", "properties.topicSpace", "not a known field");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_group),       cmocka_unit_test(test_client_group_query_length),
        cmocka_unit_test(test_topic_space),        cmocka_unit_test(test_topic_space_quota),
        cmocka_unit_test(test_permission_binding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
